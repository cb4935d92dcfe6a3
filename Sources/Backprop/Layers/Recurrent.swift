// Recurrent layers over whole sequences: RNN (tanh), LSTM, GRU.
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

// MARK: - RNN

/// An Elman recurrent layer with tanh: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh),
/// as PyTorch's `nn.RNN`. Input `[T, N, I]`, output `[T, N, H]`.
public final class RNN<Scalar: TensorScalar>: RecurrentLayer {
    let core: RecurrentCore<Scalar>
    private let gateGrads = ScratchBuffer<Scalar>()     // [T, N, H] ∂L/∂pre-activations from BPTT
    private let gradHidden = ScratchBuffer<Scalar>()    // [N, H] ∂L/∂h_t through the recurrence

    /// A layer `inputSize → hiddenSize`; every parameter uniform in ±1/√H, as PyTorch.
    public init(_ inputSize: Int, _ hiddenSize: Int, using rng: inout Random) {
        core = RecurrentCore(kind: "RNN", gateCount: 1, hasCell: false, inputSize: inputSize, hiddenSize: hiddenSize, using: &rng)
    }
    /// A layer `inputSize → hiddenSize` initialised from the global generator.
    public convenience init(_ inputSize: Int, _ hiddenSize: Int) { self.init(inputSize, hiddenSize, using: &Random.global) }

    public func fprop(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
        let shape = checkedOutputShape(input.shape)
        core.beginForward(input)
        let (T, N, H) = (input.shape[0], input.shape[1], hiddenSize)
        let step = N * H
        var output = Tensor<Scalar>(uninitialized: shape)
        output.withUnsafeMutablePointer { out in
            // the input projections of all steps go straight into the output, then tanh in place
            core.projectInput(input, into: out)
            let bias = core.stepBias(includeHiddenBias: true)
            core.withStartState(batch: N) { h0, _, _ in
                core.weightHH.value.withUnsafePointer { whh in
                    for t in 0..<T {
                        let ht = out + t * step
                        if let hPrev = t == 0 ? h0 : UnsafePointer(out + (t - 1) * step) {
                            // ht [N, H] += h_{t−1} [N, H] · W_hhᵀ [H, H]
                            Scalar.gemm(transA: false, transB: true, m: N, n: H, k: H, alpha: 1, a: hPrev, lda: H,
                                        b: whh, ldb: H, beta: 1, c: ht, ldc: H)
                        }
                        core.forEachRowBlock(N) { r, rows in Scalar.rnnForwardStep(ht + r * H, bias: bias, batch: rows, hiddenSize: H) }
                    }
                }
            }
        }
        core.endForward(output: output, finalCell: nil)
        return output
    }

    /// Backpropagation through time, once per fprop and gradOutput: fills `gateGrads`.
    private func backpropagateThroughTime(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) {
        core.checkBackward(self, input, gradOutput)
        if core.hasGradients(for: gradOutput) { return }
        let (T, N, H) = (input.shape[0], input.shape[1], hiddenSize)
        let step = N * H
        let dG = gateGrads.reserve(T * step), dh = gradHidden.reserve(step)
        Scalar.fill(dh, 0, step)
        core.lastOutput.withUnsafePointer { out in
            gradOutput.withUnsafePointer { gy in
                core.withStartState(batch: N) { h0, _, _ in
                    core.weightHH.value.withUnsafePointer { whh in
                        for t in (0..<T).reversed() {
                            let o = t * step
                            core.forEachRowBlock(N) { r, rows in
                                Scalar.rnnBackwardStep(hidden: out + o + r * H, gradOutput: gy + o + r * H, gradHidden: dh + r * H,
                                                       gradPre: dG + o + r * H, count: rows * H)
                            }
                            if t > 0 || h0 != nil {
                                // ∂L/∂h_{t−1} [N, H] = dG_t [N, H] · W_hh [H, H]
                                Scalar.gemm(transA: false, transB: false, m: N, n: H, k: H, alpha: 1, a: dG + t * step, lda: H,
                                            b: whh, ldb: H, beta: 0, c: dh, ldc: H)
                            }
                        }
                    }
                }
            }
        }
        core.finishBackward(gradOutput, gradHidden: dh, gradCell: nil)
    }

    public func grad(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) {
        backpropagateThroughTime(input, gradOutput)
        core.accumulateParameterGradients(input: input, inputGateGrads: gateGrads.pointer, hiddenGateGrads: gateGrads.pointer)
    }

    public func bprop(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) -> Tensor<Scalar> {
        backpropagateThroughTime(input, gradOutput)
        return core.inputGradient(shape: input.shape, inputGateGrads: gateGrads.pointer)
    }
}

// MARK: - LSTM

/// A long short-term memory layer (Hochreiter & Schmidhuber, 1997, with the forget gate),
/// as PyTorch's `nn.LSTM`: gates i, f, g, o from W_ih x_t + b_ih + W_hh h_{t−1} + b_hh;
/// c_t = σ(f)·c_{t−1} + σ(i)·tanh(g), h_t = σ(o)·tanh(c_t). Input `[T, N, I]`, output
/// `[T, N, H]`; the final cell state is in `finalState.cell`.
///
/// ```swift
/// let lstm = LSTM<Float>(28, 128)                  // weight_ih_l0 [512, 28], weight_hh_l0 [512, 128]
/// let h = lstm.fprop(x)                            // x [T, N, 28] → h [T, N, 128]
/// ```
public final class LSTM<Scalar: TensorScalar>: RecurrentLayer {
    let core: RecurrentCore<Scalar>
    private let gates = ScratchBuffer<Scalar>()         // [T, N, 4H] activations of the last fprop
    private let cells = ScratchBuffer<Scalar>()         // [T, N, H] c_t
    private let tanhCells = ScratchBuffer<Scalar>()     // [T, N, H] tanh(c_t)
    private let gateGrads = ScratchBuffer<Scalar>()     // [T, N, 4H] ∂L/∂gate pre-activations from BPTT
    private let gradHidden = ScratchBuffer<Scalar>()    // [N, H]
    private let gradCell = ScratchBuffer<Scalar>()      // [N, H]

    /// A layer `inputSize → hiddenSize`; every parameter uniform in ±1/√H, as PyTorch.
    public init(_ inputSize: Int, _ hiddenSize: Int, using rng: inout Random) {
        core = RecurrentCore(kind: "LSTM", gateCount: 4, hasCell: true, inputSize: inputSize, hiddenSize: hiddenSize, using: &rng)
    }
    /// A layer `inputSize → hiddenSize` initialised from the global generator.
    public convenience init(_ inputSize: Int, _ hiddenSize: Int) { self.init(inputSize, hiddenSize, using: &Random.global) }

    public func fprop(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
        let shape = checkedOutputShape(input.shape)
        core.beginForward(input)
        let (T, N, H) = (input.shape[0], input.shape[1], hiddenSize)
        let width = 4 * H, step = N * H
        let g = gates.reserve(T * N * width), c = cells.reserve(T * step), tc = tanhCells.reserve(T * step)
        core.projectInput(input, into: g)
        let bias = core.stepBias(includeHiddenBias: true)
        var output = Tensor<Scalar>(uninitialized: shape)
        output.withUnsafeMutablePointer { out in
            core.withStartState(batch: N) { h0, _, c0 in
                core.weightHH.value.withUnsafePointer { whh in
                    for t in 0..<T {
                        let gt = g + t * N * width
                        if let hPrev = t == 0 ? h0 : UnsafePointer(out + (t - 1) * step) {
                            // gates_t [N, 4H] += h_{t−1} [N, H] · W_hhᵀ [H, 4H]
                            Scalar.gemm(transA: false, transB: true, m: N, n: width, k: H, alpha: 1, a: hPrev, lda: H,
                                        b: whh, ldb: H, beta: 1, c: gt, ldc: width)
                        }
                        let cPrev = t == 0 ? c0 : UnsafePointer(c + (t - 1) * step)
                        let o = t * step
                        core.forEachRowBlock(N) { r, rows in
                            Scalar.lstmForwardStep(gates: gt + r * width, bias: bias, cellPrev: cPrev + r * H, cell: c + o + r * H,
                                                   tanhCell: tc + o + r * H, hidden: out + o + r * H, batch: rows, hiddenSize: H)
                        }
                    }
                }
            }
        }
        core.endForward(output: output, finalCell: c + (T - 1) * step)
        return output
    }

    /// Backpropagation through time, once per fprop and gradOutput: fills `gateGrads`.
    private func backpropagateThroughTime(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) {
        core.checkBackward(self, input, gradOutput)
        if core.hasGradients(for: gradOutput) { return }
        let (T, N, H) = (input.shape[0], input.shape[1], hiddenSize)
        let width = 4 * H, step = N * H
        let g = gates.pointer, c = cells.pointer, tc = tanhCells.pointer
        let dG = gateGrads.reserve(T * N * width)
        let dh = gradHidden.reserve(step), dc = gradCell.reserve(step)
        Scalar.fill(dh, 0, step)
        Scalar.fill(dc, 0, step)
        gradOutput.withUnsafePointer { gy in
            core.withStartState(batch: N) { h0, _, c0 in
                core.weightHH.value.withUnsafePointer { whh in
                    for t in (0..<T).reversed() {
                        let cPrev = t == 0 ? c0 : UnsafePointer(c + (t - 1) * step)
                        let o = t * step, og = t * N * width
                        core.forEachRowBlock(N) { r, rows in
                            Scalar.lstmBackwardStep(gates: g + og + r * width, cellPrev: cPrev + r * H, tanhCell: tc + o + r * H,
                                                    gradOutput: gy + o + r * H, gradHidden: dh + r * H, gradCell: dc + r * H,
                                                    gradGates: dG + og + r * width, batch: rows, hiddenSize: H)
                        }
                        if t > 0 || h0 != nil {
                            // ∂L/∂h_{t−1} [N, H] = dG_t [N, 4H] · W_hh [4H, H]
                            Scalar.gemm(transA: false, transB: false, m: N, n: H, k: width, alpha: 1, a: dG + t * N * width,
                                        lda: width, b: whh, ldb: H, beta: 0, c: dh, ldc: H)
                        }
                    }
                }
            }
        }
        core.finishBackward(gradOutput, gradHidden: dh, gradCell: dc)
    }

    public func grad(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) {
        backpropagateThroughTime(input, gradOutput)
        core.accumulateParameterGradients(input: input, inputGateGrads: gateGrads.pointer, hiddenGateGrads: gateGrads.pointer)
    }

    public func bprop(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) -> Tensor<Scalar> {
        backpropagateThroughTime(input, gradOutput)
        return core.inputGradient(shape: input.shape, inputGateGrads: gateGrads.pointer)
    }
}

// MARK: - GRU

/// A gated recurrent unit layer (Cho et al., 2014) with PyTorch's `nn.GRU` formula:
/// r = σ(W_ir x + b_ir + W_hr h + b_hr), z = σ(W_iz x + b_iz + W_hz h + b_hz),
/// n = tanh(W_in x + b_in + r·(W_hn h + b_hn)), h_t = (1 − z)·n + z·h_{t−1}.
/// Input `[T, N, I]`, output `[T, N, H]`.
public final class GRU<Scalar: TensorScalar>: RecurrentLayer {
    let core: RecurrentCore<Scalar>
    private let gates = ScratchBuffer<Scalar>()           // [T, N, 3H] r, z, n of the last fprop
    private let newGateHidden = ScratchBuffer<Scalar>()   // [T, N, H] W_hn h_{t−1} + b_hn
    private let hiddenProjection = ScratchBuffer<Scalar>() // [N, 3H] h_{t−1} · W_hhᵀ, one step
    private let inputGateGrads = ScratchBuffer<Scalar>()  // [T, N, 3H] ∂L/∂(W_ih x + b_ih)
    private let hiddenGateGrads = ScratchBuffer<Scalar>() // [T, N, 3H] ∂L/∂(W_hh h + b_hh)
    private let gradHidden = ScratchBuffer<Scalar>()      // [N, H]

    /// A layer `inputSize → hiddenSize`; every parameter uniform in ±1/√H, as PyTorch.
    public init(_ inputSize: Int, _ hiddenSize: Int, using rng: inout Random) {
        core = RecurrentCore(kind: "GRU", gateCount: 3, hasCell: false, inputSize: inputSize, hiddenSize: hiddenSize, using: &rng)
    }
    /// A layer `inputSize → hiddenSize` initialised from the global generator.
    public convenience init(_ inputSize: Int, _ hiddenSize: Int) { self.init(inputSize, hiddenSize, using: &Random.global) }

    public func fprop(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
        let shape = checkedOutputShape(input.shape)
        core.beginForward(input)
        let (T, N, H) = (input.shape[0], input.shape[1], hiddenSize)
        let width = 3 * H, step = N * H
        let g = gates.reserve(T * N * width), hn = newGateHidden.reserve(T * step)
        let hp = hiddenProjection.reserve(N * width)
        core.projectInput(input, into: g)
        // b_ih and b_hh stay apart: b_hn sits inside r·(W_hn h + b_hn)
        let bih = core.stepBias(includeHiddenBias: false)
        var output = Tensor<Scalar>(uninitialized: shape)
        output.withUnsafeMutablePointer { out in
            core.withStartState(batch: N) { h0, h0OrZeros, _ in
                core.weightHH.value.withUnsafePointer { whh in
                    core.biasHH.value.withUnsafePointer { bhh in
                        for t in 0..<T {
                            let hPrev = t == 0 ? h0 : UnsafePointer(out + (t - 1) * step)
                            if let hPrev {
                                // hp [N, 3H] = h_{t−1} [N, H] · W_hhᵀ [H, 3H]
                                Scalar.gemm(transA: false, transB: true, m: N, n: width, k: H, alpha: 1, a: hPrev, lda: H,
                                            b: whh, ldb: H, beta: 0, c: hp, ldc: width)
                            } else {
                                Scalar.fill(hp, 0, N * width)
                            }
                            let o = t * step, og = t * N * width, prev = hPrev ?? h0OrZeros
                            core.forEachRowBlock(N) { r, rows in
                                Scalar.gruForwardStep(gates: g + og + r * width, biasIH: bih, hiddenProjection: hp + r * width, biasHH: bhh,
                                                      hiddenPrev: prev + r * H, newGateHidden: hn + o + r * H,
                                                      hidden: out + o + r * H, batch: rows, hiddenSize: H)
                            }
                        }
                    }
                }
            }
        }
        core.endForward(output: output, finalCell: nil)
        return output
    }

    /// Backpropagation through time, once per fprop and gradOutput: fills the gate gradients.
    private func backpropagateThroughTime(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) {
        core.checkBackward(self, input, gradOutput)
        if core.hasGradients(for: gradOutput) { return }
        let (T, N, H) = (input.shape[0], input.shape[1], hiddenSize)
        let width = 3 * H, step = N * H
        let g = gates.pointer, hn = newGateHidden.pointer
        let dX = inputGateGrads.reserve(T * N * width), dH = hiddenGateGrads.reserve(T * N * width)
        let dh = gradHidden.reserve(step)
        Scalar.fill(dh, 0, step)
        core.lastOutput.withUnsafePointer { out in
            gradOutput.withUnsafePointer { gy in
                core.withStartState(batch: N) { h0, h0OrZeros, _ in
                    core.weightHH.value.withUnsafePointer { whh in
                        for t in (0..<T).reversed() {
                            let hPrev = t == 0 ? h0OrZeros : out + (t - 1) * step
                            // leaves the direct part dh·z of ∂L/∂h_{t−1} in dh …
                            let o = t * step, og = t * N * width
                            core.forEachRowBlock(N) { r, rows in
                                Scalar.gruBackwardStep(gates: g + og + r * width, newGateHidden: hn + o + r * H,
                                                       hiddenPrev: hPrev + r * H, gradOutput: gy + o + r * H, gradHidden: dh + r * H,
                                                       gradInputGates: dX + og + r * width, gradHiddenGates: dH + og + r * width,
                                                       batch: rows, hiddenSize: H)
                            }
                            if t > 0 || h0 != nil {
                                // … to which the path through W_hh adds dH_t [N, 3H] · W_hh [3H, H]
                                Scalar.gemm(transA: false, transB: false, m: N, n: H, k: width, alpha: 1, a: dH + t * N * width,
                                            lda: width, b: whh, ldb: H, beta: 1, c: dh, ldc: H)
                            }
                        }
                    }
                }
            }
        }
        core.finishBackward(gradOutput, gradHidden: dh, gradCell: nil)
    }

    public func grad(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) {
        backpropagateThroughTime(input, gradOutput)
        core.accumulateParameterGradients(input: input, inputGateGrads: inputGateGrads.pointer,
                                          hiddenGateGrads: hiddenGateGrads.pointer)
    }

    public func bprop(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) -> Tensor<Scalar> {
        backpropagateThroughTime(input, gradOutput)
        return core.inputGradient(shape: input.shape, inputGateGrads: inputGateGrads.pointer)
    }
}

// MARK: - What the three share

extension RNN { public var description: String { core.description } }
extension LSTM { public var description: String { core.description } }
extension GRU { public var description: String { core.description } }

// The parameters, the state API and the shape rule, forwarded to the core (written once
// per class because protocol extensions cannot provide stored state).
extension RNN {
    /// weight_ih_l0 `[H, I]`.
    public var weightIH: Parameter<Scalar> { core.weightIH }
    /// weight_hh_l0 `[H, H]`.
    public var weightHH: Parameter<Scalar> { core.weightHH }
    /// bias_ih_l0 `[H]`.
    public var biasIH: Parameter<Scalar> { core.biasIH }
    /// bias_hh_l0 `[H]`.
    public var biasHH: Parameter<Scalar> { core.biasHH }
    public var inputSize: Int { core.inputSize }
    public var hiddenSize: Int { core.hiddenSize }
    public var namedParameters: [(name: String, parameter: Parameter<Scalar>)] { core.namedParameters }
    public var initialState: RecurrentState<Scalar>? { get { core.initialState } set { core.initialState = newValue } }
    public var isStateful: Bool { get { core.isStateful } set { core.isStateful = newValue } }
    public var finalState: RecurrentState<Scalar>? { core.finalState }
    public var initialStateGradient: RecurrentState<Scalar>? { core.initialStateGradient }
    public func resetState() { core.initialState = nil }
    public func outputShape(for inputShape: [Int]) throws -> [Int] { try core.outputShape(for: inputShape) }
}

extension LSTM {
    /// weight_ih_l0 `[4H, I]`, gates i, f, g, o.
    public var weightIH: Parameter<Scalar> { core.weightIH }
    /// weight_hh_l0 `[4H, H]`.
    public var weightHH: Parameter<Scalar> { core.weightHH }
    /// bias_ih_l0 `[4H]`.
    public var biasIH: Parameter<Scalar> { core.biasIH }
    /// bias_hh_l0 `[4H]`.
    public var biasHH: Parameter<Scalar> { core.biasHH }
    public var inputSize: Int { core.inputSize }
    public var hiddenSize: Int { core.hiddenSize }
    public var namedParameters: [(name: String, parameter: Parameter<Scalar>)] { core.namedParameters }
    public var initialState: RecurrentState<Scalar>? { get { core.initialState } set { core.initialState = newValue } }
    public var isStateful: Bool { get { core.isStateful } set { core.isStateful = newValue } }
    public var finalState: RecurrentState<Scalar>? { core.finalState }
    public var initialStateGradient: RecurrentState<Scalar>? { core.initialStateGradient }
    public func resetState() { core.initialState = nil }
    public func outputShape(for inputShape: [Int]) throws -> [Int] { try core.outputShape(for: inputShape) }
}

extension GRU {
    /// weight_ih_l0 `[3H, I]`, gates r, z, n.
    public var weightIH: Parameter<Scalar> { core.weightIH }
    /// weight_hh_l0 `[3H, H]`.
    public var weightHH: Parameter<Scalar> { core.weightHH }
    /// bias_ih_l0 `[3H]`.
    public var biasIH: Parameter<Scalar> { core.biasIH }
    /// bias_hh_l0 `[3H]`.
    public var biasHH: Parameter<Scalar> { core.biasHH }
    public var inputSize: Int { core.inputSize }
    public var hiddenSize: Int { core.hiddenSize }
    public var namedParameters: [(name: String, parameter: Parameter<Scalar>)] { core.namedParameters }
    public var initialState: RecurrentState<Scalar>? { get { core.initialState } set { core.initialState = newValue } }
    public var isStateful: Bool { get { core.isStateful } set { core.isStateful = newValue } }
    public var finalState: RecurrentState<Scalar>? { core.finalState }
    public var initialStateGradient: RecurrentState<Scalar>? { core.initialStateGradient }
    public func resetState() { core.initialState = nil }
    public func outputShape(for inputShape: [Int]) throws -> [Int] { try core.outputShape(for: inputShape) }
}

/// A block of scalars a layer reuses from call to call (caches and temporaries), so that
/// the step loops allocate nothing: it grows when needed, never shrinks, and is freed
/// with its owner. Its contents are undefined after `reserve` grows it.
final class ScratchBuffer<Scalar: TensorScalar> {
    private(set) var pointer: UnsafeMutablePointer<Scalar>
    private var capacity = 0

    init() { pointer = .allocate(capacity: 1) }
    deinit { pointer.deallocate() }

    /// A pointer to at least `count` scalars.
    func reserve(_ count: Int) -> UnsafeMutablePointer<Scalar> {
        if count > capacity {
            pointer.deallocate()
            pointer = .allocate(capacity: count)
            capacity = count
        }
        return pointer
    }
}

/// Parameters, state, the record of the last fprop, the BPTT cache, and the GEMMs over
/// all steps at once: everything `RNN`, `LSTM` and `GRU` have in common.
final class RecurrentCore<Scalar: TensorScalar> {
    let kind: String
    let gateCount: Int
    let hasCell: Bool
    let inputSize: Int
    let hiddenSize: Int
    let weightIH: Parameter<Scalar>
    let weightHH: Parameter<Scalar>
    let biasIH: Parameter<Scalar>
    let biasHH: Parameter<Scalar>

    var initialState: RecurrentState<Scalar>?
    var isStateful = false
    private(set) var finalState: RecurrentState<Scalar>?
    private(set) var initialStateGradient: RecurrentState<Scalar>?

    // the most recent fprop
    private var generation = 0
    private var lastInputShape: [Int]?
    /// The state it started from (nil: zeros).
    private(set) var startState: RecurrentState<Scalar>?
    /// Its output, h_t for every t: `[T, N, H]` (h_{t−1} for the W_hh gradient).
    private(set) var lastOutput = Tensor<Scalar>.zeros([0])

    // which (fprop, gradOutput) the BPTT results in the layer's buffers belong to
    private var gradientsGeneration = -1
    private var gradientsFor: Tensor<Scalar>?

    private let zeros = ScratchBuffer<Scalar>()         // [N, H] zero state
    private let biasScratch = ScratchBuffer<Scalar>()   // [G·H] bias gradient sums
    private let stepBiasScratch = ScratchBuffer<Scalar>() // [G·H] the bias of the step kernels

    init(kind: String, gateCount: Int, hasCell: Bool, inputSize: Int, hiddenSize: Int, using rng: inout Random) {
        require(inputSize > 0 && hiddenSize > 0, "\(kind): sizes must be positive, got \(inputSize) -> \(hiddenSize)")
        self.kind = kind
        self.gateCount = gateCount
        self.hasCell = hasCell
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        // PyTorch: every parameter uniform in ±1/√H, drawn in state_dict order
        let a = Scalar(1 / Double(hiddenSize).squareRoot()), rows = gateCount * hiddenSize
        weightIH = Parameter(.uniform([rows, inputSize], in: -a...a, using: &rng))
        weightHH = Parameter(.uniform([rows, hiddenSize], in: -a...a, using: &rng))
        biasIH = Parameter(.uniform([rows], in: -a...a, using: &rng), decays: false)
        biasHH = Parameter(.uniform([rows], in: -a...a, using: &rng), decays: false)
    }

    var description: String { "\(kind)(\(inputSize) -> \(hiddenSize)\(isStateful ? ", stateful" : ""))" }

    var namedParameters: [(name: String, parameter: Parameter<Scalar>)] {
        [("weight_ih_l0", weightIH), ("weight_hh_l0", weightHH), ("bias_ih_l0", biasIH), ("bias_hh_l0", biasHH)]
    }

    func outputShape(for inputShape: [Int]) throws -> [Int] {
        guard inputShape.count == 3, inputShape[2] == inputSize, inputShape[0] > 0, inputShape[1] > 0 else {
            throw ShapeError("\(description) expects input [T, N, \(inputSize)] with T, N ≥ 1, got \(inputShape)")
        }
        return [inputShape[0], inputShape[1], hiddenSize]
    }

    // MARK: forward bookkeeping

    /// Starts an fprop of `input` [T, N, I]: records it and fixes the state it starts from.
    func beginForward(_ input: Tensor<Scalar>) {
        generation += 1
        lastInputShape = input.shape
        gradientsFor = nil
        initialStateGradient = nil
        let expected = [input.shape[1], hiddenSize]
        if let state = initialState {
            let hint = isStateful ? " (in stateful mode the batch size cannot change: call resetState())" : ""
            require(state.hidden.shape == expected,
                         "\(description): initial hidden state has shape \(state.hidden.shape) but input \(input.shape) needs \(expected)\(hint)")
            if let cell = state.cell {
                require(hasCell, "\(description): has no cell state, but the initial state has one")
                require(cell.shape == expected,
                             "\(description): initial cell state has shape \(cell.shape) but input \(input.shape) needs \(expected)\(hint)")
            }
        }
        startState = initialState
    }

    /// Ends an fprop: records its output and final state (carried over if stateful).
    func endForward(output: Tensor<Scalar>, finalCell: UnsafePointer<Scalar>?) {
        lastOutput = output
        let (T, N) = (output.shape[0], output.shape[1])
        let step = N * hiddenSize
        let hidden = output.withUnsafePointer { out in Tensor<Scalar>(shape: [N, hiddenSize]) { Scalar.copy(out + (T - 1) * step, $0, step) } }
        let cell = finalCell.map { c in Tensor<Scalar>(shape: [N, hiddenSize]) { Scalar.copy(c, $0, step) } }
        finalState = RecurrentState(hidden: hidden, cell: cell)
        if isStateful { initialState = finalState }
    }

    /// Calls `body` with the start state: h₀ (nil when starting from zeros), h₀ or zeros,
    /// and c₀ or zeros; each `[N, H]`.
    func withStartState<R>(batch: Int, _ body: (UnsafePointer<Scalar>?, UnsafePointer<Scalar>, UnsafePointer<Scalar>) -> R) -> R {
        let count = batch * hiddenSize
        let zero = zeros.reserve(count)
        Scalar.fill(zero, 0, count)
        func with(_ t: Tensor<Scalar>?, _ f: (UnsafePointer<Scalar>?) -> R) -> R {
            if let t { return t.withUnsafePointer { f($0) } } else { return f(nil) }
        }
        return with(startState?.hidden) { h in with(startState?.cell) { c in body(h, h ?? UnsafePointer(zero), c ?? UnsafePointer(zero)) } }
    }

    /// Runs a step kernel on blocks of the batch's rows, `body(firstRow, rowCount)`, split
    /// over `Threads.count` threads when the step is big enough to pay for waking them:
    /// from 64K hidden units per step (N·H); a step of the MNIST or char-rnn sizes (8K,
    /// some 80 µs) runs faster on one thread than split.
    func forEachRowBlock(_ batch: Int, _ body: (Int, Int) -> Void) {
        Threads.parallelFor(batch, costPerItem: hiddenSize, minimumWork: 1 << 16) { rows in body(rows.lowerBound, rows.count) }
    }

    /// gates [T·N, G·H] = x [T·N, I] · W_ihᵀ: the input projection of every step in one
    /// GEMM (the step kernels add the biases).
    func projectInput(_ input: Tensor<Scalar>, into gates: UnsafeMutablePointer<Scalar>) {
        let rows = input.shape[0] * input.shape[1], width = gateCount * hiddenSize
        input.withUnsafePointer { x in
            weightIH.value.withUnsafePointer { w in
                Scalar.gemm(transA: false, transB: true, m: rows, n: width, k: inputSize, alpha: 1, a: x, lda: inputSize,
                            b: w, ldb: inputSize, beta: 0, c: gates, ldc: width)
            }
        }
    }

    /// The bias [G·H] the step kernels add: b_ih + b_hh (RNN, LSTM), or b_ih alone (GRU).
    /// Valid until the next call.
    func stepBias(includeHiddenBias: Bool) -> UnsafePointer<Scalar> {
        let width = gateCount * hiddenSize
        let bias = stepBiasScratch.reserve(width)
        biasIH.value.withUnsafePointer { bi in
            if includeHiddenBias {
                biasHH.value.withUnsafePointer { bh in Scalar.add(bi, bh, bias, width) }
            } else {
                Scalar.copy(bi, bias, width)
            }
        }
        return UnsafePointer(bias)
    }

    // MARK: backward bookkeeping

    /// Preconditions for bprop and grad: the input of the last fprop, a gradOutput of its output's shape.
    func checkBackward<L: Layer>(_ layer: L, _ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) where L.Scalar == Scalar {
        require(lastInputShape == input.shape,
                     "\(description): bprop/grad need the input of the most recent fprop (got \(input.shape), last fprop saw \(lastInputShape.map { "\($0)" } ?? "nothing"))")
        layer.checkGradOutput(input, gradOutput)
    }

    /// True when BPTT has already run for the last fprop and this very gradOutput (same storage).
    func hasGradients(for gradOutput: Tensor<Scalar>) -> Bool {
        guard gradientsGeneration == generation, let cached = gradientsFor, cached.shape == gradOutput.shape else { return false }
        // `cached` keeps its storage alive, so equal addresses mean the same, unmodified tensor
        return cached.scalars.withUnsafeBufferPointer { a in gradOutput.scalars.withUnsafeBufferPointer { b in a.baseAddress == b.baseAddress } }
    }

    /// Records that BPTT ran for `gradOutput`, with ∂L/∂h₀ and ∂L/∂c₀ in the given `[N, H]` buffers.
    func finishBackward(_ gradOutput: Tensor<Scalar>, gradHidden: UnsafePointer<Scalar>, gradCell: UnsafePointer<Scalar>?) {
        gradientsGeneration = generation
        gradientsFor = gradOutput
        if let start = startState {
            let shape = start.hidden.shape, count = start.hidden.count
            initialStateGradient = RecurrentState(
                hidden: Tensor(shape: shape) { Scalar.copy(gradHidden, $0, count) },
                cell: gradCell.map { dc in Tensor(shape: shape) { Scalar.copy(dc, $0, count) } })
        } else {
            initialStateGradient = nil
        }
    }

    /// Adds the parameters' gradients from the gate gradients of all steps, one GEMM each:
    /// weight_ih += dXᵀ · x, weight_hh += dHᵀ · h_prev, bias_ih += Σ dX, bias_hh += Σ dH.
    /// dX and dH are `[T·N, G·H]` (the same buffer for RNN and LSTM).
    func accumulateParameterGradients(input: Tensor<Scalar>, inputGateGrads dX: UnsafePointer<Scalar>,
                                      hiddenGateGrads dH: UnsafePointer<Scalar>) {
        let (T, N) = (input.shape[0], input.shape[1])
        let rows = T * N, width = gateCount * hiddenSize, H = hiddenSize
        // weight_ih.grad [G·H, I] += dXᵀ [G·H, T·N] · x [T·N, I]
        input.withUnsafePointer { x in
            weightIH.accumulateGrad { grad, beta in
                grad.withUnsafeMutablePointer { gw in
                    Scalar.gemm(transA: true, transB: false, m: width, n: inputSize, k: rows, alpha: 1, a: dX, lda: width,
                                b: x, ldb: inputSize, beta: beta, c: gw, ldc: inputSize)
                }
            }
        }
        // weight_hh.grad [G·H, H] += dH_tᵀ · h_{t−1} over t ≥ 1 (one GEMM: h_0…h_{T−2} are
        // the output's first T−1 steps), plus dH_0ᵀ · h₀ when the run did not start from zeros
        lastOutput.withUnsafePointer { out in
            weightHH.accumulateGrad { grad, firstBeta in
                var beta = firstBeta
                grad.withUnsafeMutablePointer { gw in
                    if T > 1 {
                        Scalar.gemm(transA: true, transB: false, m: width, n: H, k: (T - 1) * N, alpha: 1, a: dH + N * width,
                                    lda: width, b: out, ldb: H, beta: beta, c: gw, ldc: H)
                        beta = 1
                    }
                    startState?.hidden.withUnsafePointer { h0 in
                        Scalar.gemm(transA: true, transB: false, m: width, n: H, k: N, alpha: 1, a: dH, lda: width,
                                    b: h0, ldb: H, beta: beta, c: gw, ldc: H)
                        beta = 1
                    }
                }
                if beta == 0 { grad.zero() }                 // one step from zeros: nothing to add
            }
        }
        // biases: column sums of the gate gradients
        let sums = biasScratch.reserve(width)
        Scalar.columnSums(dX, rows: rows, cols: width, sums, accumulate: false)
        biasIH.grad.withUnsafeMutablePointer { Scalar.axpy(width, 1, sums, $0) }
        if dH != dX { Scalar.columnSums(dH, rows: rows, cols: width, sums, accumulate: false) }
        biasHH.grad.withUnsafeMutablePointer { Scalar.axpy(width, 1, sums, $0) }
    }

    /// ∂L/∂x [T·N, I] = dX [T·N, G·H] · W_ih [G·H, I]: one GEMM for every step.
    func inputGradient(shape: [Int], inputGateGrads dX: UnsafePointer<Scalar>) -> Tensor<Scalar> {
        let rows = shape[0] * shape[1], width = gateCount * hiddenSize
        return weightIH.value.withUnsafePointer { w in
            Tensor(shape: shape) { gx in
                Scalar.gemm(transA: false, transB: false, m: rows, n: inputSize, k: width, alpha: 1, a: dX, lda: width,
                            b: w, ldb: inputSize, beta: 0, c: gx, ldc: inputSize)
            }
        }
    }
}
