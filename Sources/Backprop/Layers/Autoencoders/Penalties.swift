// Penalties as modules (the lecture notes' way, and Torch7's `nn.L1Penalty`): a penalty
// module sits in the stack, passes its input through unchanged, adds the gradient of its
// penalty on the way back, and reports the penalty computed by its last `fprop`, so the
// training loop can log the whole objective: loss + Σ penalties.
//
// Shapes: output = input shape.

/// A module that adds a term to the training objective, reported as `penalty` (the value
/// for the input of its last `fprop`, already multiplied by its weight λ and reduced).
/// Containers report the sum over their modules; `GradientCheck` adds it to the loss it
/// differentiates, so penalty gradients are checked like any other.
public protocol PenaltyReporting: AnyObject {
    /// The penalty added to the objective by the last `fprop`.
    var penalty: Double { get }
}

/// The penalty `layer` added to the objective in its last `fprop` (0 if it adds none).
public func penalty<Scalar>(of layer: any Layer<Scalar>) -> Double {
    (layer as? PenaltyReporting)?.penalty ?? 0
}

extension Sequential: PenaltyReporting {
    /// The sum of the penalties of the modules (nested containers included).
    public var penalty: Double { layers.reduce(0) { $0 + Backprop.penalty(of: $1) } }
}

/// Sparsity: an L1 penalty λ · Σ|x| on its input (typically the code of an autoencoder),
/// with Torch7's `nn.L1Penalty` semantics: the forward pass is the identity, `bprop`
/// returns gradOutput + λ · s · sign(x) (sign(0) = 0), and `penalty` = λ · s · Σ|x|.
///
/// The scale s comes from `reduction`:
/// - `.sum` (Torch7's default, `sizeAverage = false`): s = 1;
/// - `.mean` (Torch7's `sizeAverage = true`): s = 1 / (number of elements of x);
/// - `.batchMean`: s = 1 / N for x [N, ...], the penalty per example, on the same scale as
///   a reconstruction loss with `.batchMean` (what the examples use).
///
/// ```swift
/// let encoder = Sequential<Float> { Linear(784, 500); Sigmoid(); L1Penalty(1e-3, reduction: .batchMean) }
/// ```
public final class L1Penalty<Scalar: TensorScalar>: ShapePreserving, PenaltyReporting {
    /// The weight λ.
    public let lambda: Double
    public let reduction: Reduction
    /// λ · s · Σ|x| for the input of the last `fprop`.
    public private(set) var penalty: Double = 0

    public init(_ lambda: Double, reduction: Reduction = .sum) {
        require(lambda >= 0, "L1Penalty: lambda must be >= 0, got \(lambda)")
        self.lambda = lambda
        self.reduction = reduction
    }

    /// Torch7's constructor: `sizeAverage` divides by the number of elements.
    public convenience init(_ lambda: Double, sizeAverage: Bool) {
        self.init(lambda, reduction: sizeAverage ? .mean : .sum)
    }

    public var description: String { "L1Penalty(\(lambda), \(reduction))" }

    private func weight(for input: Tensor<Scalar>) -> Scalar { Scalar(lambda) * reduction.scale(input) }

    public func fprop(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
        penalty = Double(weight(for: input) * input.withUnsafePointer { Scalar.sumOfAbsolute($0, input.count) })
        return input
    }

    // gradInput = gradOutput + λ s · sign(input)
    public func bprop(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) -> Tensor<Scalar> {
        checkGradOutput(input, gradOutput)
        let scale = weight(for: input)
        return input.zipped(with: gradOutput, "L1Penalty.bprop") { Scalar.l1PenaltyBackward($0, $1, $2, $3, scale: scale) }
    }
}

/// The contractive autoencoder's penalty (Rifai et al., 2011) for a sigmoid encoder
/// h = σ(W x + b): λ ‖∂h/∂x‖²_F = λ Σ_j (h_j (1 − h_j))² Σ_i W_ji², per example.
///
/// It is a module placed right after the encoder's `Sigmoid`, holding the encoder's
/// `Linear` (whose weight it shares). Seen from there the penalty is a function of the code
/// h and of W, J(h, W) = λ s Σ_n Σ_j (h_nj (1 − h_nj))² ‖W_j‖², so the module:
/// - passes h through unchanged (`fprop`), and reports J (`penalty`);
/// - adds ∂J/∂h = λ s · 2 a (1 − 2h) ‖W_j‖², with a = h (1 − h), to the gradient (`bprop`);
///   the `Sigmoid` and `Linear` before it carry this on to z, W, b and x exactly
///   (∂J/∂z = ∂J/∂h · a), which completes the exact gradient through the sigmoid;
/// - adds the direct part ∂J/∂W_ji = λ s · 2 (Σ_n a_nj²) W_ji to the shared weight's
///   gradient (`grad`).
///
/// The scale s is 1/N (`.batchMean`, the default: the penalty per example, on the scale
/// of a `.batchMean` reconstruction loss) or 1 (`.sum`).
///
/// ```swift
/// let encoder = Linear<Float>(784, 500)
/// let model = Sequential<Float> {
///     encoder; Sigmoid()
///     ContractivePenalty(0.1, encoder: encoder)     // λ ‖∂h/∂x‖²_F, per example
///     Linear(500, 784); Sigmoid()
/// }
/// ```
public final class ContractivePenalty<Scalar: TensorScalar>: Layer, PenaltyReporting {
    /// The weight λ.
    public let lambda: Double
    public let reduction: Reduction
    /// The encoder whose Jacobian is penalised (its weight is shared, not copied).
    public let encoder: Linear<Scalar>
    /// λ s ‖∂h/∂x‖²_F for the input of the last `fprop`.
    public private(set) var penalty: Double = 0

    public init(_ lambda: Double, encoder: Linear<Scalar>, reduction: Reduction = .batchMean) {
        require(lambda >= 0, "ContractivePenalty: lambda must be >= 0, got \(lambda)")
        require(!encoder.isTransposed, "ContractivePenalty: the encoder must be a plain Linear, not a tied (transposed) one")
        require(reduction != .mean, "ContractivePenalty: reduction must be .batchMean or .sum")
        self.lambda = lambda
        self.encoder = encoder
        self.reduction = reduction
    }

    public var description: String { "ContractivePenalty(\(lambda), encoder: \(encoder))" }

    /// The encoder's weight, so that gradient checks and optimizers see the direct term.
    public var namedParameters: [(name: String, parameter: Parameter<Scalar>)] { [("weight", encoder.weight)] }

    public func outputShape(for inputShape: [Int]) throws -> [Int] {
        guard let last = inputShape.last, last == encoder.outputSize else {
            throw ShapeError("\(self) expects the sigmoid code [..., \(encoder.outputSize)], got \(inputShape)")
        }
        return inputShape
    }

    /// ‖W_j‖² for each hidden unit j: [hidden].
    private func weightRowNorms() -> Tensor<Scalar> {
        let w = encoder.weight.value
        let (rows, cols) = (w.shape[0], w.shape[1])
        return w.withUnsafePointer { wp in
            Tensor(shape: [rows]) { Scalar.rowSumsOfSquares(wp, rows: rows, cols: cols, $0) }
        }
    }

    private func scale(for input: Tensor<Scalar>) -> Scalar {
        Scalar(lambda) * (reduction == .sum ? 1 : 1 / Scalar(max(input.matrixShape.rows, 1)))
    }

    // h [M..., hidden] → h; penalty = λ s Σ (h(1−h))² ‖W_j‖²
    public func fprop(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
        _ = checkedOutputShape(input.shape)
        let (rows, cols) = input.matrixShape
        let norms = weightRowNorms()
        let total = input.withUnsafePointer { h in
            norms.withUnsafePointer { Scalar.contractivePenalty(h, $0, rows: rows, cols: cols) }
        }
        penalty = Double(scale(for: input) * total)
        return input
    }

    // gradInput [M..., hidden] = gradOutput + λ s · 2 h(1−h)(1−2h) ‖W_j‖²
    public func bprop(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) -> Tensor<Scalar> {
        checkGradOutput(input, gradOutput)
        let (rows, cols) = input.matrixShape
        let norms = weightRowNorms(), s = scale(for: input)
        return input.zipped(with: gradOutput, "ContractivePenalty.bprop") { h, gy, gx, _ in
            norms.withUnsafePointer { Scalar.contractiveBackward(h, $0, gy, gx, rows: rows, cols: cols, scale: s) }
        }
    }

    // weight.grad [hidden, in] += λ s · 2 (Σ_n (h_nj(1−h_nj))²) W_j on each row j
    public func grad(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) {
        checkGradOutput(input, gradOutput)
        let (rows, cols) = input.matrixShape
        let slopes = input.withUnsafePointer { h in
            Tensor<Scalar>(shape: [cols]) { Scalar.sigmoidSlopeSquaredColumnSums(h, rows: rows, cols: cols, $0) }
        }
        let w = encoder.weight.value, alpha = 2 * scale(for: input)
        let (hidden, inputs) = (w.shape[0], w.shape[1])
        w.withUnsafePointer { wp in
            slopes.withUnsafePointer { sp in
                encoder.weight.grad.withUnsafeMutablePointer {
                    Scalar.addScaledRows(wp, sp, alpha: alpha, $0, rows: hidden, cols: inputs)
                }
            }
        }
    }
}
