// Adversarial examples: the gradient of a loss with respect to a model's input, and the fast
// gradient sign method (FGSM) built on it, x + ε·sign(∇ₓJ) clipped to the pixel range.

/// ∂J/∂x, the gradient of the loss `J = criterion(model(x), target)` with respect to the
/// input `x`: one `fprop` and one `bprop`, so no parameter's gradient is touched
/// (`Parameter.grad` is left exactly as it was, accumulated or not).
///
/// The model runs in the mode it is in: call it in evaluation mode (`model.isTraining =
/// false`) for the usual attack on a trained network (dropout off, batch norm with its
/// running statistics), or in training mode for the attack on the network as it trains
/// (batch norm then normalizes with the batch's own statistics, and its gradient goes
/// through them). Either way the model's buffers (a batch norm's running statistics) are
/// restored afterwards, so that computing the gradient does not change the model. Layers
/// keep their caches of this `fprop`, as after any forward pass.
///
/// ```swift
/// model.isTraining = false
/// let g = inputGradient(model: model, criterion: CrossEntropyLoss<Float>(), input: images, target: labels)
/// ```
public func inputGradient<L: Layer, C: Criterion>(
    model: L, criterion: C, input: Tensor<L.Scalar>,
    target: C.Target
) -> Tensor<L.Scalar> where C.Scalar == L.Scalar {
    let buffers = model.namedBuffers.map { ($0.buffer, $0.buffer.value) }
    defer { for (buffer, value) in buffers { buffer.value = value } }
    let output = model.fprop(input)
    return model.bprop(input, criterion.backward(output, target))
}

/// The fast gradient sign method (Goodfellow, Shlens and Szegedy 2015, "Explaining and
/// harnessing adversarial examples"): the batch moved by `epsilon` in every pixel, in the
/// direction that increases the loss the most to first order (in the max norm),
///
///     x_adv = clip(x + ε · sign(∂J/∂x), clip.lowerBound, clip.upperBound),
///
/// with J = `criterion(model(x), target)`. The default `clip` keeps pixels in [0, 1]; nil
/// leaves them unclipped. ε = 0 returns `input` (clipped) without running the model.
/// Generic over Float and Double.
///
/// The gradient comes from `inputGradient(model:criterion:input:target:)`: `bprop`, so
/// parameter gradients are left exactly as they were, and the model runs in the mode the
/// caller chose: FGSM is usually computed in **evaluation mode** (`model.isTraining =
/// false`), the network as it is used; adversarial training may compute it in training
/// mode. Buffers (batch norm's running statistics) are restored.
///
/// ```swift
/// model.isTraining = false
/// let adversarial = fgsm(model: model, criterion: CrossEntropyLoss<Float>(), input: images, target: labels, epsilon: 0.25)
/// let fooled = zip(model.fprop(adversarial).argmax(), labels).filter { $0 != $1 }.count
/// ```
public func fgsm<L: Layer, C: Criterion>(
    model: L, criterion: C, input: Tensor<L.Scalar>, target: C.Target,
    epsilon: Double, clip: ClosedRange<Double>? = 0...1
) -> Tensor<L.Scalar>
where C.Scalar == L.Scalar {
    require(epsilon >= 0 && epsilon.isFinite, "fgsm: epsilon must be finite and >= 0, got \(epsilon) (input \(input.shape))")
    let gradient =
        epsilon == 0
        ? Tensor<L.Scalar>.zeros(input.shape)
        : inputGradient(model: model, criterion: criterion, input: input, target: target)
    return fgsm(input: input, gradient: gradient, epsilon: epsilon, clip: clip)
}

/// The FGSM step for a gradient already computed: clip(x + ε · sign(gradient)), element
/// by element (sign 0 where the gradient is 0). One gradient serves every ε, which is how
/// a table of accuracies for several ε costs one backward pass per batch.
///
/// ```swift
/// let g = inputGradient(model: model, criterion: loss, input: images, target: labels)
/// for epsilon in [0.05, 0.1, 0.2] { let adversarial = fgsm(input: images, gradient: g, epsilon: epsilon) … }
/// ```
public func fgsm<Scalar: TensorScalar>(
    input: Tensor<Scalar>, gradient: Tensor<Scalar>, epsilon: Double,
    clip: ClosedRange<Double>? = 0...1
) -> Tensor<Scalar> {
    require(epsilon >= 0 && epsilon.isFinite, "fgsm: epsilon must be finite and >= 0, got \(epsilon) (input \(input.shape))")
    require(gradient.shape == input.shape, "fgsm: the gradient has shape \(gradient.shape) but the input has shape \(input.shape)")
    let lower = clip.map { Scalar($0.lowerBound) } ?? -.infinity, upper = clip.map { Scalar($0.upperBound) } ?? .infinity
    return input.zipped(with: gradient, "fgsm") { x, g, y, n in
        Scalar.signStep(x, g, epsilon: Scalar(epsilon), lower: lower, upper: upper, y, n)
    }
}

/// The element loop of FGSM, a static requirement of the scalar type like every element
/// loop (its generic default is specialized for Float and Double).
public protocol AdversarialKernels {
    /// y[i] = min(max(x[i] + ε · sign(g[i]), lower), upper), sign as `Tensor.sign()` (0 at 0).
    /// x [n], g [n], y [n]; y may alias x.
    static func signStep(
        _ x: UnsafePointer<Self>, _ g: UnsafePointer<Self>, epsilon: Self, lower: Self, upper: Self,
        _ y: UnsafeMutablePointer<Self>, _ n: Int)
}

extension AdversarialKernels where Self: TensorScalar {
    // x [n], g [n] → y [n]
    public static func signStep(
        _ x: UnsafePointer<Self>, _ g: UnsafePointer<Self>, epsilon: Self, lower: Self, upper: Self,
        _ y: UnsafeMutablePointer<Self>, _ n: Int
    ) {
        for i in 0..<n {
            let d = g[i] > 0 ? epsilon : (g[i] < 0 ? -epsilon : 0)
            y[i] = Swift.min(Swift.max(x[i] + d, lower), upper)
        }
    }
}
