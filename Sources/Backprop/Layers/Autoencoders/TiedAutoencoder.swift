// TiedAutoencoder (decoder = encoderᵀ) and its activation choices, with the energy of
// the lecture notes.

/// The activation of an autoencoder layer, with what the energy of a tied autoencoder
/// needs: its antiderivative.
public enum AutoencoderActivation: String, CaseIterable, Sendable {
    case sigmoid, tanh, relu, linear

    /// The module applying it (nil for `.linear`, the identity).
    public func makeLayer<Scalar: TensorScalar>() -> (any Layer<Scalar>)? {
        switch self {
        case .sigmoid: return Sigmoid<Scalar>()
        case .tanh: return Tanh<Scalar>()
        case .relu: return ReLU<Scalar>()
        case .linear: return nil
        }
    }

    /// F(z) element-wise, with F' = the activation: softplus for the sigmoid, log cosh for
    /// tanh, ½ max(z, 0)² for ReLU, ½ z² for the identity.
    public func antiderivative<Scalar: TensorScalar>(_ z: Tensor<Scalar>) -> Tensor<Scalar> {
        switch self {
        case .sigmoid: return z.mapped(Scalar.softplus)
        case .tanh: return z.mapped(Scalar.logCosh)
        case .relu: return z.mapped { Scalar.halfSquare($0, $1, $2, rectified: true) }
        case .linear: return z.mapped { Scalar.halfSquare($0, $1, $2, rectified: false) }
        }
    }
}

/// A one-hidden-layer autoencoder with *tied* weights: the decoder is the encoder's weight
/// transposed, r(x) = g(Wᵀ f(W x + b) + c), where both uses of W share one `Parameter`
/// (their two gradient contributions add up in `weight.grad`) and the decoder has its own
/// bias c.
///
/// With a linear output (g = identity) it has an *energy* (the lecture notes' recipe:
/// replace the hidden activation f by its antiderivative F, sum, subtract ½‖x − c‖²):
///
///     E(x) = Σ_j F(W_j · x + b_j) − ½ ‖x − c‖²,   whose gradient is ∇E(x) = r(x) − x,
///
/// so the reconstruction r(x) − x is a vector field that climbs an energy landscape.
///
/// Parameters: `encoder.weight` [hidden, in], `encoder.bias` [hidden], `decoder.bias` [in].
public final class TiedAutoencoder<Scalar: TensorScalar>: Layer {
    /// x → W x + b.
    public let encoder: Linear<Scalar>
    /// h → Wᵀ h + c, the same weight `Parameter` as the encoder's.
    public let decoder: Linear<Scalar>
    public let hiddenActivation: AutoencoderActivation
    public let outputActivation: AutoencoderActivation
    private let body: Sequential<Scalar>

    /// An autoencoder `inputSize → hiddenSize → inputSize`; the encoder's weights are drawn
    /// by `initializer` from `rng`, the decoder bias starts at zero.
    public init(
        _ inputSize: Int, _ hiddenSize: Int, hidden: AutoencoderActivation = .sigmoid,
        output: AutoencoderActivation = .linear, initializer: Initializer = .uniformFanIn, using rng: inout Random
    ) {
        encoder = Linear(inputSize, hiddenSize, initializer: initializer, using: &rng)
        decoder = Linear(tiedTo: encoder)
        hiddenActivation = hidden
        outputActivation = output
        let hiddenLayer: (any Layer<Scalar>)? = hidden.makeLayer(), outputLayer: (any Layer<Scalar>)? = output.makeLayer()
        body = Sequential([encoder] + [hiddenLayer].compactMap { $0 } + [decoder] + [outputLayer].compactMap { $0 })
    }

    /// An autoencoder initialised from the global generator.
    public convenience init(
        _ inputSize: Int, _ hiddenSize: Int, hidden: AutoencoderActivation = .sigmoid,
        output: AutoencoderActivation = .linear, initializer: Initializer = .uniformFanIn
    ) {
        self.init(inputSize, hiddenSize, hidden: hidden, output: output, initializer: initializer, using: &Random.global)
    }

    public var description: String {
        "TiedAutoencoder(\(encoder.inputSize) -> \(encoder.outputSize) -> \(encoder.inputSize), \(hiddenActivation), output \(outputActivation))"
    }

    /// The shared weight appears once: `encoder.weight`, `encoder.bias`, `decoder.bias`.
    public var namedParameters: [(name: String, parameter: Parameter<Scalar>)] {
        [("encoder.weight", encoder.weight), ("encoder.bias", encoder.bias!), ("decoder.bias", decoder.bias!)]
    }

    public var isTraining: Bool {
        get { body.isTraining }
        set { body.isTraining = newValue }
    }

    public func outputShape(for inputShape: [Int]) throws -> [Int] {
        do { return try body.outputShape(for: inputShape) } catch { throw ShapeError("\(self): \(error)") }
    }

    // x [N, in] → r(x) [N, in]
    public func fprop(_ input: Tensor<Scalar>) -> Tensor<Scalar> { body.fprop(input) }
    public func bprop(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) -> Tensor<Scalar> { body.bprop(input, gradOutput) }
    public func grad(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) { body.grad(input, gradOutput) }
    public func backward(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) -> Tensor<Scalar> { body.backward(input, gradOutput) }

    /// The code f(W x + b), x [N, in] → [N, hidden] (does not disturb the cached fprop).
    public func encode(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
        let z = encoder.fprop(input)
        let activation: (any Layer<Scalar>)? = hiddenActivation.makeLayer()
        return activation?.fprop(z) ?? z
    }

    /// The energy of each example, x [N, in] → [N]: Σ_j F(W_j · x + b_j) − ½ ‖x − c‖².
    /// Defined for a linear output, where its gradient with respect to x is r(x) − x.
    public func energy(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
        require(
            outputActivation == .linear,
            "TiedAutoencoder.energy: defined for a linear output (∇E = r(x) − x), this one has \(outputActivation)")
        _ = checkedOutputShape(input.shape)
        let (rows, inputs) = input.matrixShape, hidden = encoder.outputSize
        let potentials = hiddenActivation.antiderivative(encoder.fprop(input)) // [N, hidden]
        let offsets = input.addingRowVector(-decoder.bias!.value) // x − c, [N, in]
        var perExample = Tensor<Scalar>(uninitialized: [rows])
        var squares = Tensor<Scalar>(uninitialized: [rows])
        potentials.withUnsafePointer { p in perExample.withUnsafeMutablePointer { Scalar.rowSums(p, rows: rows, cols: hidden, $0) } }
        offsets.withUnsafePointer { d in squares.withUnsafeMutablePointer { Scalar.rowSumsOfSquares(d, rows: rows, cols: inputs, $0) } }
        perExample.add(squares, scaledBy: -0.5)
        return perExample
    }
}
