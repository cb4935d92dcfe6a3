// Modules that move values around without computing: Flatten and Reshape (free: the
// same scalars under a new shape) and Pad2D (zero padding of the last two axes).

/// Flattens each example: `[N, d1, d2, …]` → `[N, d1·d2·…]`, as between the convolutional
/// and the fully connected part of a convnet. The batch axis is kept.
public final class Flatten<Scalar: TensorScalar>: Layer {
    public init() {}

    public func outputShape(for inputShape: [Int]) throws -> [Int] {
        guard let n = inputShape.first else { throw ShapeError("Flatten expects input [N, ...], got a scalar shape []") }
        return [n, inputShape.dropFirst().reduce(1, *)]
    }

    // input [N, ...] → output [N, prod(...)]: same scalars
    public func fprop(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
        input.reshaped(checkedOutputShape(input.shape))
    }

    // gradOutput [N, prod(...)] → gradInput [N, ...]: same scalars
    public func bprop(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) -> Tensor<Scalar> {
        checkGradOutput(input, gradOutput)
        return gradOutput.reshaped(input.shape)
    }
}

/// Gives each example a new shape, keeping the batch axis: `Reshape([1, 28, 28])` turns
/// `[N, 784]` into `[N, 1, 28, 28]`. One extent may be `-1`, inferred from the others.
public final class Reshape<Scalar: TensorScalar>: Layer {
    /// The shape of one example (may hold one `-1`).
    public let shape: [Int]

    public init(_ shape: [Int]) {
        require(
            shape.filter { $0 == -1 }.count <= 1 && shape.allSatisfy { $0 >= -1 },
            "Reshape: the shape may hold non-negative extents and at most one -1, got \(shape)")
        self.shape = shape
    }

    public var description: String { "Reshape(\(shape))" }

    public func outputShape(for inputShape: [Int]) throws -> [Int] {
        guard let n = inputShape.first else { throw ShapeError("\(self) expects input [N, ...], got a scalar shape []") }
        let perExample = inputShape.dropFirst().reduce(1, *)
        var resolved = shape
        if let hole = shape.firstIndex(of: -1) {
            let known = shape.enumerated().filter { $0.offset != hole }.map(\.element).reduce(1, *)
            guard known > 0, perExample % known == 0 else {
                throw ShapeError(
                    "\(self) cannot reshape examples of shape \(Array(inputShape.dropFirst())) (\(perExample) values), input \(inputShape)")
            }
            resolved[hole] = perExample / known
        }
        guard resolved.reduce(1, *) == perExample else {
            throw ShapeError(
                "\(self) cannot reshape examples of shape \(Array(inputShape.dropFirst())) (\(perExample) values) to \(shape) (\(resolved.reduce(1, *)) values), input \(inputShape)"
            )
        }
        return [n] + resolved
    }

    // input [N, ...] → output [N] + shape: same scalars
    public func fprop(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
        input.reshaped(checkedOutputShape(input.shape))
    }

    // gradOutput [N] + shape → gradInput [N, ...]: same scalars
    public func bprop(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) -> Tensor<Scalar> {
        checkGradOutput(input, gradOutput)
        return gradOutput.reshaped(input.shape)
    }
}

/// Zero padding of images: `[N, C, H, W]` (or `[C, H, W]`) → `[N, C, top + H + bottom,
/// left + W + right]`, like PyTorch's `ZeroPad2d`. The lecture's convnet takes MNIST's
/// 28×28 digits padded by 2 to 32×32. bprop crops the gradient back to the input's size.
///
/// ```swift
/// let pad = Pad2D<Float>(2)                                       // 28×28 → 32×32
/// let wide = Pad2D<Float>(left: 1, right: 1, top: 0, bottom: 0)
/// ```
public final class Pad2D<Scalar: TensorScalar>: Layer {
    public let left: Int, right: Int, top: Int, bottom: Int

    public init(left: Int, right: Int, top: Int, bottom: Int) {
        require(
            left >= 0 && right >= 0 && top >= 0 && bottom >= 0,
            "Pad2D: padding cannot be negative, got left \(left), right \(right), top \(top), bottom \(bottom)")
        self.left = left
        self.right = right
        self.top = top
        self.bottom = bottom
    }

    /// The same padding on all four sides.
    public convenience init(_ padding: Int) {
        self.init(left: padding, right: padding, top: padding, bottom: padding)
    }

    public var description: String {
        left == right && right == top && top == bottom
            ? "Pad2D(\(left))" : "Pad2D(left \(left), right \(right), top \(top), bottom \(bottom))"
    }

    public func outputShape(for inputShape: [Int]) throws -> [Int] {
        guard inputShape.count == 3 || inputShape.count == 4 else {
            throw ShapeError("\(self) expects input [N, C, H, W] or [C, H, W], got \(inputShape)")
        }
        var shape = inputShape
        shape[shape.count - 2] += top + bottom
        shape[shape.count - 1] += left + right
        return shape
    }

    // input [..., H, W] → output [..., top + H + bottom, left + W + right]
    public func fprop(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
        let shape = checkedOutputShape(input.shape)
        let (h, w) = (input.shape[input.rank - 2], input.shape[input.rank - 1])
        let planes = input.shape.dropLast(2).reduce(1, *)
        return input.withUnsafePointer { x in
            Tensor<Scalar>(shape: shape) { y in
                Threads.parallelFor(planes, costPerItem: shape[shape.count - 2] * shape[shape.count - 1]) { range in
                    Scalar.pad2D(x, height: h, width: w, top: top, bottom: bottom, left: left, right: right, planes: range, y)
                }
            }
        }
    }

    // gradOutput [..., top + H + bottom, left + W + right] → gradInput [..., H, W] (the inner part)
    public func bprop(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) -> Tensor<Scalar> {
        checkGradOutput(input, gradOutput)
        let (h, w) = (input.shape[input.rank - 2], input.shape[input.rank - 1])
        let planes = input.shape.dropLast(2).reduce(1, *)
        return gradOutput.withUnsafePointer { gy in
            Tensor<Scalar>(shape: input.shape) { gx in
                Threads.parallelFor(planes, costPerItem: h * w) { range in
                    Scalar.crop2D(gy, height: h, width: w, top: top, bottom: bottom, left: left, right: right, planes: range, gx)
                }
            }
        }
    }
}
