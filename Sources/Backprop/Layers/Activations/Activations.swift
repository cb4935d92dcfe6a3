// Element-wise activations and the softmax family. Shapes: output = input shape;
// softmax and log-softmax act along the last axis.

/// The logistic function σ(x) = 1 / (1 + e⁻ˣ). bprop uses the cached output: σ' = y (1 − y).
public final class Sigmoid<Scalar: TensorScalar>: ShapePreserving {
    private var output: Tensor<Scalar>?
    public init() {}
    public func fprop(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
        let y = input.mapped(Scalar.sigmoid)
        output = y
        return y
    }
    public func bprop(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) -> Tensor<Scalar> {
        let y = cachedOutput(output, input, fprop)
        return y.zipped(with: gradOutput, "Sigmoid.bprop", Scalar.sigmoidBackward)
    }
}

/// The hyperbolic tangent. bprop uses the cached output: tanh' = 1 − y².
public final class Tanh<Scalar: TensorScalar>: ShapePreserving {
    private var output: Tensor<Scalar>?
    public init() {}
    public func fprop(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
        let y = input.mapped(Scalar.tanh)
        output = y
        return y
    }
    public func bprop(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) -> Tensor<Scalar> {
        let y = cachedOutput(output, input, fprop)
        return y.zipped(with: gradOutput, "Tanh.bprop", Scalar.tanhBackward)
    }
}

/// max(0, x). The derivative at exactly 0 is taken as 0, as in PyTorch.
public final class ReLU<Scalar: TensorScalar>: ShapePreserving {
    public init() {}
    public func fprop(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
        input.mapped { Scalar.relu($0, $1, $2, slope: 0) }
    }
    public func bprop(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) -> Tensor<Scalar> {
        input.zipped(with: gradOutput, "ReLU.bprop") { Scalar.reluBackward($0, $1, $2, $3, slope: 0) }
    }
}

/// x for x > 0, `slope` · x otherwise.
public final class LeakyReLU<Scalar: TensorScalar>: ShapePreserving {
    public let slope: Scalar
    public init(slope: Scalar = 0.01) { self.slope = slope }
    public var description: String { "LeakyReLU(\(slope))" }
    public func fprop(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
        input.mapped { Scalar.relu($0, $1, $2, slope: slope) }
    }
    public func bprop(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) -> Tensor<Scalar> {
        input.zipped(with: gradOutput, "LeakyReLU.bprop") { Scalar.reluBackward($0, $1, $2, $3, slope: slope) }
    }
}

/// log(1 + eˣ), the smooth ReLU (and the antiderivative of the sigmoid). Its derivative is σ(x).
public final class Softplus<Scalar: TensorScalar>: ShapePreserving {
    public init() {}
    public func fprop(_ input: Tensor<Scalar>) -> Tensor<Scalar> { input.mapped(Scalar.softplus) }
    public func bprop(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) -> Tensor<Scalar> {
        input.mapped(Scalar.sigmoid) * gradOutput
    }
}

/// Softmax along the last axis (max subtracted first, so it never overflows).
public final class Softmax<Scalar: TensorScalar>: ShapePreserving {
    private var output: Tensor<Scalar>?
    public init() {}
    public func fprop(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
        let (rows, cols) = input.matrixShape
        let y = input.mapped { x, y, _ in Scalar.softmaxRows(x, y, rows: rows, cols: cols) }
        output = y
        return y
    }
    public func bprop(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) -> Tensor<Scalar> {
        let (rows, cols) = input.matrixShape
        return cachedOutput(output, input, fprop).zipped(with: gradOutput, "Softmax.bprop") { y, gy, gx, _ in
            Scalar.softmaxBackwardRows(y, gy, gx, rows: rows, cols: cols)
        }
    }
}

/// log(softmax(x)) along the last axis, computed as x − max − log Σ exp(x − max).
public final class LogSoftmax<Scalar: TensorScalar>: ShapePreserving {
    private var output: Tensor<Scalar>?
    public init() {}
    public func fprop(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
        let (rows, cols) = input.matrixShape
        let y = input.mapped { x, y, _ in Scalar.logSoftmaxRows(x, y, rows: rows, cols: cols) }
        output = y
        return y
    }
    public func bprop(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) -> Tensor<Scalar> {
        let (rows, cols) = input.matrixShape
        return cachedOutput(output, input, fprop).zipped(with: gradOutput, "LogSoftmax.bprop") { y, gy, gx, _ in
            Scalar.logSoftmaxBackwardRows(y, gy, gx, rows: rows, cols: cols)
        }
    }
}

/// The output cached by the last `fprop`, or a fresh one when `bprop` is called on an
/// input of another shape (a cheap guard against the most common misuse).
@inline(__always)
func cachedOutput<Scalar>(
    _ cached: Tensor<Scalar>?, _ input: Tensor<Scalar>,
    _ fprop: (Tensor<Scalar>) -> Tensor<Scalar>
) -> Tensor<Scalar> {
    if let cached, cached.shape == input.shape { return cached }
    return fprop(input)
}
