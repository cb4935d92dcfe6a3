// What the recurrent layers (RNN, LSTM, GRU: one file each) share: their state, their
// protocol and the base class that forwards their parameters and state to the core.
//
// Shapes: input [T, N, I] (time-major, as PyTorch's default) → output [T, N, H], the hidden
// state of every step. Parameters have PyTorch's names and layouts, so weights move
// between the two: weight_ih_l0 [G·H, I], weight_hh_l0 [G·H, H], bias_ih_l0 [G·H],
// bias_hh_l0 [G·H], with G gate blocks in PyTorch's order (RNN: 1; LSTM: i, f, g, o;
// GRU: r, z, n).
//
// How the work is laid out (the same for the three):
//   fprop  the input projection of all T steps is ONE GEMM, [T·N, I] · W_ihᵀ, into a
//          gate buffer [T, N, G·H]; then per step one GEMM adds h_{t−1} · W_hhᵀ and one
//          fused kernel (`RecurrentKernels`) adds the biases and applies the gates,
//          leaving in the buffer what backpropagation through time needs.
//   BPTT   backwards over the steps, one fused kernel computes the gradient with respect
//          to the gates' pre-activations and one GEMM sends it to h_{t−1} through W_hh.
//          The per-step gate gradients [T, N, G·H] are kept, so that
//   grad   is three GEMMs over all steps at once (W_ih, W_hh, and the biases' column sums),
//   bprop  is one GEMM, [T·N, G·H] · W_ih.
// BPTT runs once per fprop and gradOutput: whichever of grad and bprop comes first runs
// it and the other reuses its result (each also works alone).

/// The state a recurrent layer carries between steps: the hidden state h `[N, H]` and, for
/// an LSTM, the cell state c `[N, H]`.
public struct RecurrentState<Scalar: TensorScalar>: Equatable {
    /// h `[N, H]`.
    public var hidden: Tensor<Scalar>
    /// c `[N, H]` for an LSTM (nil means zeros); always nil for RNN and GRU.
    public var cell: Tensor<Scalar>?

    public init(hidden: Tensor<Scalar>, cell: Tensor<Scalar>? = nil) {
        self.hidden = hidden
        self.cell = cell
    }
}

/// What `RNN`, `LSTM` and `GRU` share: their sizes and the control of their state.
///
/// - `initialState` is the state the next `fprop` starts from (nil: zeros). Setting it
///   gives h₀ (and c₀); after `bprop`/`grad`, `initialStateGradient` holds ∂L/∂h₀ (and ∂L/∂c₀).
/// - `finalState` is the state after the last step of the last `fprop`.
/// - In stateful mode (`isStateful = true`) each `fprop` sets `initialState` to its final
///   state, so the next call continues the sequence: truncated backpropagation through
///   time, since no gradient flows back across the boundary. `resetState()` starts over
///   from zeros (at the start of an epoch, or when the batch size changes).
public protocol RecurrentLayer<Scalar>: Layer {
    /// I, the size of each input vector.
    var inputSize: Int { get }
    /// H, the size of the hidden state.
    var hiddenSize: Int { get }
    /// The state the next `fprop` starts from; nil means zeros.
    var initialState: RecurrentState<Scalar>? { get set }
    /// When true, each `fprop` leaves its final state in `initialState` for the next one.
    var isStateful: Bool { get set }
    /// The state after the last step of the most recent `fprop`.
    var finalState: RecurrentState<Scalar>? { get }
    /// ∂L/∂h₀ (and ∂L/∂c₀ for an LSTM) after `bprop` or `grad`, for the state the last
    /// `fprop` started from; nil when it started from zeros (no initial state was set).
    var initialStateGradient: RecurrentState<Scalar>? { get }
    /// Forgets the carried state: the next `fprop` starts from zeros.
    func resetState()
}

/// What `RNN`, `LSTM` and `GRU` share, written once: their sizes, their parameters under
/// PyTorch's names and layouts, the control of their state, the shape rule and the
/// description, all kept by the recurrent core. G is the number of gate blocks: 1 for
/// RNN, 4 for LSTM (i, f, g, o), 3 for GRU (r, z, n).
public class RecurrentLayerBase<Scalar: TensorScalar> {
    let core: RecurrentCore<Scalar>

    init(core: RecurrentCore<Scalar>) { self.core = core }

    /// weight_ih_l0 `[G·H, I]`.
    public var weightIH: Parameter<Scalar> { core.weightIH }
    /// weight_hh_l0 `[G·H, H]`.
    public var weightHH: Parameter<Scalar> { core.weightHH }
    /// bias_ih_l0 `[G·H]`.
    public var biasIH: Parameter<Scalar> { core.biasIH }
    /// bias_hh_l0 `[G·H]`.
    public var biasHH: Parameter<Scalar> { core.biasHH }
    /// I, the size of each input vector.
    public var inputSize: Int { core.inputSize }
    /// H, the size of the hidden state.
    public var hiddenSize: Int { core.hiddenSize }
    /// `weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0`, `bias_hh_l0`.
    public var namedParameters: [(name: String, parameter: Parameter<Scalar>)] { core.namedParameters }
    /// The state the next `fprop` starts from; nil means zeros.
    public var initialState: RecurrentState<Scalar>? {
        get { core.initialState }
        set { core.initialState = newValue }
    }
    /// When true, each `fprop` leaves its final state in `initialState` for the next one.
    public var isStateful: Bool {
        get { core.isStateful }
        set { core.isStateful = newValue }
    }
    /// The state after the last step of the most recent `fprop`.
    public var finalState: RecurrentState<Scalar>? { core.finalState }
    /// ∂L/∂h₀ (and ∂L/∂c₀) for the state the last `fprop` started from.
    public var initialStateGradient: RecurrentState<Scalar>? { core.initialStateGradient }
    /// Forgets the carried state: the next `fprop` starts from zeros.
    public func resetState() { core.initialState = nil }
    /// `[T, N, I]` → `[T, N, H]`.
    public func outputShape(for inputShape: [Int]) throws -> [Int] { try core.outputShape(for: inputShape) }
    /// `LSTM(28 -> 128)`, and whether it is stateful.
    public var description: String { core.description }
}
