// The three backward verbs of a container, written once over its single backward pass.

/// A container whose backward work is one pass over its children, `backPass`: `bprop`,
/// `grad` and `backward` are that pass with gradient accumulation and the input gradient
/// switched on or off, so each child's `backward` runs once where both are needed.
/// `Sequential`, `Residual`, `Concat`, `Parallel` and `Sum` are such containers.
public protocol BackPassContainer: Container {
    /// Runs the children backwards from `gradOutput` (the shape of the output for `input`,
    /// the most recent `fprop`'s): each child's parameter gradients if `accumulate`, and
    /// ∂L/∂input, returned, if `inputGradient` (else nil, and bprops nobody needs are
    /// skipped).
    func backPass(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>, accumulate: Bool, inputGradient: Bool) -> Tensor<Scalar>?
}

extension BackPassContainer {
    /// ∂L/∂input, without touching any parameter's gradient.
    public func bprop(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) -> Tensor<Scalar> {
        backPass(input, gradOutput, accumulate: false, inputGradient: true)!
    }

    /// Accumulates every parameter's gradient, skipping the bprops no parameter needs
    /// (the input gradient of the first trainable module's input, for a chain).
    public func grad(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) {
        _ = backPass(input, gradOutput, accumulate: true, inputGradient: false)
    }

    /// Accumulates every parameter's gradient and returns ∂L/∂input, in one pass.
    public func backward(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) -> Tensor<Scalar> {
        backPass(input, gradOutput, accumulate: true, inputGradient: true)!
    }
}
