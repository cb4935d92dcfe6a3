// The Criterion protocol and its reductions, and the regression and binary criteria:
// MSELoss, BCELoss, BCEWithLogitsLoss.

/// A loss function: `forward` gives the loss for an output and its target, `backward`
/// the gradient of that loss with respect to the output, which starts the network's
/// backward pass. As in Torch7 and PyTorch, losses average by default.
public protocol Criterion<Scalar> {
    associatedtype Scalar: TensorScalar
    /// What the output is compared with: class indices, or a tensor of the output's shape.
    associatedtype Target

    /// The loss.
    func forward(_ input: Tensor<Scalar>, _ target: Target) -> Scalar
    /// ∂loss/∂input, the shape of `input`.
    func backward(_ input: Tensor<Scalar>, _ target: Target) -> Tensor<Scalar>
}

/// How per-element (or per-example) losses are combined.
public enum Reduction: Sendable {
    /// The average: over elements for element-wise losses (MSE, BCE), over examples for
    /// class losses (cross-entropy, NLL). PyTorch's default.
    case mean
    /// The sum.
    case sum
    /// The sum divided by the size of the first axis: the loss per example, as the
    /// lecture notes write an autoencoder's reconstruction error.
    case batchMean

    /// The factor applied to the summed loss for `input`; `examples` is the number of
    /// examples for class losses, nil for element-wise ones.
    func scale<Scalar: TensorScalar>(_ input: Tensor<Scalar>, examples: Int? = nil) -> Scalar {
        switch self {
        case .sum: return 1
        case .mean: return 1 / Scalar(max(examples ?? input.count, 1))
        case .batchMean: return 1 / Scalar(max(input.shape.first ?? 1, 1))
        }
    }
}

func checkSameShape<Scalar>(_ what: String, _ input: Tensor<Scalar>, _ target: Tensor<Scalar>) {
    require(input.shape == target.shape, "\(what): input has shape \(input.shape) but target has shape \(target.shape)")
}

/// Squared error: Σ (input − target)², reduced.
public struct MSELoss<Scalar: TensorScalar>: Criterion {
    public var reduction: Reduction
    public init(reduction: Reduction = .mean) { self.reduction = reduction }

    public func forward(_ input: Tensor<Scalar>, _ target: Tensor<Scalar>) -> Scalar {
        checkSameShape("MSELoss", input, target)
        return (input - target).sumOfSquares() * reduction.scale(input)
    }
    public func backward(_ input: Tensor<Scalar>, _ target: Tensor<Scalar>) -> Tensor<Scalar> {
        checkSameShape("MSELoss", input, target)
        return (input - target) * (2 * reduction.scale(input))
    }
}

/// Binary cross-entropy of probabilities in [0, 1] against targets in [0, 1].
/// Prefer `BCEWithLogitsLoss` on the pre-sigmoid values: it cannot overflow.
public struct BCELoss<Scalar: TensorScalar>: Criterion {
    public var reduction: Reduction
    public init(reduction: Reduction = .mean) { self.reduction = reduction }

    public func forward(_ input: Tensor<Scalar>, _ target: Tensor<Scalar>) -> Scalar {
        checkSameShape("BCELoss", input, target)
        return input.withUnsafePointer { p in
            target.withUnsafePointer { t in
                Scalar.binaryCrossEntropy(p, t, input.count)
            }
        } * reduction.scale(input)
    }
    public func backward(_ input: Tensor<Scalar>, _ target: Tensor<Scalar>) -> Tensor<Scalar> {
        checkSameShape("BCELoss", input, target)
        let scale: Scalar = reduction.scale(input)
        return input.zipped(with: target, "BCELoss") { Scalar.binaryCrossEntropyBackward($0, $1, $2, $3, scale: scale) }
    }
}

/// Binary cross-entropy of σ(input) against targets in [0, 1], computed from the
/// logits without overflow. Gradient: σ(input) − target.
public struct BCEWithLogitsLoss<Scalar: TensorScalar>: Criterion {
    public var reduction: Reduction
    public init(reduction: Reduction = .mean) { self.reduction = reduction }

    public func forward(_ input: Tensor<Scalar>, _ target: Tensor<Scalar>) -> Scalar {
        checkSameShape("BCEWithLogitsLoss", input, target)
        return input.withUnsafePointer { x in
            target.withUnsafePointer { t in
                Scalar.binaryCrossEntropyWithLogits(x, t, input.count)
            }
        } * reduction.scale(input)
    }
    public func backward(_ input: Tensor<Scalar>, _ target: Tensor<Scalar>) -> Tensor<Scalar> {
        checkSameShape("BCEWithLogitsLoss", input, target)
        return (input.mapped(Scalar.sigmoid) - target) * reduction.scale(input)
    }
}
