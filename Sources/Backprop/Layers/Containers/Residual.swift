// The residual block, y = shortcut(x) + f(x), and the identity module.

/// A residual block: y = x + f(x), or y = shortcut(x) + f(x) with a projection on the
/// shortcut (He et al. 2016), f being the `Sequential` of the body's modules.
///
/// ```swift
/// let block = Residual<Float> { Linear(16, 16); ReLU(); Linear(16, 16) }          // [N, 16] → [N, 16]
/// let down = Residual<Float>(shortcut: Conv2D(8, 16, kernelSize: 1, stride: 2)) {  // [N, 8, H, W] → [N, 16, H/2, W/2]
///     Conv2D(8, 16, kernelSize: 3, stride: 2, padding: 1); ReLU()
///     Conv2D(16, 16, kernelSize: 3, padding: 1)
/// }
/// ```
///
/// Shapes: f(x) must have the shape of x (of shortcut(x) with a shortcut), which is the
/// output's; otherwise `outputShape(for:)` throws a `ShapeError` naming both. bprop:
/// ∂L/∂x = ∂L/∂y + bprop_f(x, ∂L/∂y) (with a shortcut: bprop_shortcut(x, ∂L/∂y) + bprop_f(x, ∂L/∂y)).
///
/// Parameter names are those of the PyTorch module
/// `self.body = nn.Sequential(...)`, `self.shortcut = ...` with
/// `forward(x) = self.shortcut(x) + self.body(x)`: `body.0.weight`, `body.2.bias`,
/// `shortcut.weight` (no `shortcut.` names without a shortcut).
public final class Residual<Scalar: TensorScalar>: BackPassContainer {
    /// f, the residual branch.
    public let body: Sequential<Scalar>
    /// The projection on the shortcut path, or nil for the identity.
    public let shortcut: (any Layer<Scalar>)?
    public let mode = TrainingMode()

    public init(body: Sequential<Scalar>, shortcut: (any Layer<Scalar>)? = nil) {
        self.body = body
        self.shortcut = shortcut
    }

    /// The body's modules, one after another, as in `Sequential { … }`.
    public convenience init(shortcut: (any Layer<Scalar>)? = nil, @LayerBuilder<Scalar> _ body: () -> [any Layer<Scalar>]) {
        self.init(body: Sequential(body()), shortcut: shortcut)
    }

    public var children: [(name: String, layer: any Layer<Scalar>)] {
        [("body", body as any Layer<Scalar>)] + (shortcut.map { [("shortcut", $0)] } ?? [])
    }

    /// The input's shape (or the shortcut's output shape), which f(x) must also have.
    public func outputShape(for inputShape: [Int]) throws -> [Int] {
        let f: [Int]
        do { f = try body.outputShape(for: inputShape) } catch {
            throw ShapeError("Residual: the body cannot take input of shape \(inputShape): \(error)")
        }
        guard let shortcut else {
            guard f == inputShape else {
                throw ShapeError(
                    "Residual: the body gives \(f) for input \(inputShape); without a shortcut it must keep the input's shape (add a projection with Residual(shortcut:))"
                )
            }
            return f
        }
        let s: [Int]
        do { s = try shortcut.outputShape(for: inputShape) } catch {
            throw ShapeError("Residual: the shortcut \(shortcut) cannot take input of shape \(inputShape): \(error)")
        }
        guard f == s else {
            throw ShapeError(
                "Residual: the body gives \(f) but the shortcut \(shortcut) gives \(s) for input \(inputShape); they must match to be added"
            )
        }
        return f
    }

    // x → y = shortcut(x) + f(x), all of the output's shape
    public func fprop(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
        _ = checkedOutputShape(input.shape)
        var y = body.fprop(input)
        y += shortcut?.fprop(input) ?? input
        return y
    }

    private var paths: [any Layer<Scalar>] { [body as any Layer<Scalar>] + (shortcut.map { [$0] } ?? []) }

    // ∂L/∂x = bprop_f(x, g) + (bprop_shortcut(x, g) or g)
    public func backPass(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>, accumulate: Bool, inputGradient: Bool) -> Tensor<Scalar>? {
        checkGradOutput(input, gradOutput)
        let n = paths.count
        guard
            var grads = branchBackPass(
                paths, inputs: Array(repeating: input, count: n), gradOutputs: Array(repeating: gradOutput, count: n),
                accumulate: accumulate, inputGradient: inputGradient)
        else { return nil }
        if shortcut == nil { grads.append(gradOutput) }
        return sumOfBranches(grads)
    }

}

/// y = x: Torch7's `nn.Identity`, PyTorch's `nn.Identity` (a placeholder branch, such as the
/// pass-through of a `Concat` or `Sum`). Any shape; ∂L/∂x = ∂L/∂y; no parameters.
public final class Identity<Scalar: TensorScalar>: ShapePreserving {
    public init() {}
    // x [any] → y = x
    public func fprop(_ input: Tensor<Scalar>) -> Tensor<Scalar> { input }
    // ∂L/∂x = ∂L/∂y
    public func bprop(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) -> Tensor<Scalar> {
        checkGradOutput(input, gradOutput)
        return gradOutput
    }
}
