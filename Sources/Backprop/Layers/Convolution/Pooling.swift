// Spatial pooling over NCHW images: input [N, C, H, W] → output [N, C, outH, outW], each
// channel of each image on its own, with outH = (H + 2·padding − kernel) / stride + 1
// (rounded down, PyTorch's default ceil_mode=False). The planes are split over cores.

/// What `MaxPool2D` and `AvgPool2D` share: the window (kernel, stride, padding), its
/// checks, its output shape and the description.
public class Pool2D<Scalar: TensorScalar> {
    public let kernelSize: (height: Int, width: Int)
    public let stride: (height: Int, width: Int)
    public let padding: (height: Int, width: Int)

    /// A `kernelSize` window moved by `stride` (default: `kernelSize`), with `padding` on
    /// both sides of each axis (at most half the kernel).
    public init(kernelSize: (Int, Int), stride: (Int, Int)? = nil, padding: (Int, Int) = (0, 0)) {
        let stride = stride ?? kernelSize
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding
        let layer = name
        require(kernelSize.0 > 0 && kernelSize.1 > 0, "\(layer): kernelSize must be positive, got \(kernelSize)")
        require(stride.0 > 0 && stride.1 > 0, "\(layer): stride must be positive, got \(stride)")
        require(
            padding.0 >= 0 && padding.1 >= 0 && 2 * padding.0 <= kernelSize.0 && 2 * padding.1 <= kernelSize.1,
            "\(layer): padding must be between 0 and half the kernel (as in PyTorch), got padding \(padding) for kernel \(kernelSize)")
    }

    /// A square window, the same stride (default: the kernel size) and padding on both axes.
    public convenience init(_ kernelSize: Int, stride: Int? = nil, padding: Int = 0) {
        self.init(
            kernelSize: (kernelSize, kernelSize), stride: (stride ?? kernelSize, stride ?? kernelSize),
            padding: (padding, padding))
    }

    /// `MaxPool2D` or `AvgPool2D`.
    private var name: String {
        let full = String(describing: type(of: self))
        return full.firstIndex(of: "<").map { String(full[..<$0]) } ?? full
    }

    /// `MaxPool2D(2x2)`, with the stride and the padding where they are not the defaults.
    public var description: String {
        func pair(_ p: (height: Int, width: Int)) -> String { p.height == p.width ? "\(p.height)" : "(\(p.height), \(p.width))" }
        var text = "\(name)(\(kernelSize.height)x\(kernelSize.width)"
        if stride != kernelSize { text += ", stride \(pair(stride))" }
        if padding != (0, 0) { text += ", padding \(pair(padding))" }
        return text + ")"
    }

    /// `[N, C, H, W]` → `[N, C, outH, outW]`, or a `ShapeError` when the input is not
    /// NCHW or is smaller than the (padded) window.
    public func outputShape(for inputShape: [Int]) throws -> [Int] {
        guard inputShape.count == 4 else {
            throw ShapeError("\(description) expects input [N, C, H, W], got \(inputShape)")
        }
        let g = geometry(inputShape)
        guard g.height + 2 * g.paddingHeight >= g.kernelHeight, g.width + 2 * g.paddingWidth >= g.kernelWidth else {
            throw ShapeError(
                "\(description): input \(inputShape) (padded to \(g.height + 2 * g.paddingHeight)x\(g.width + 2 * g.paddingWidth)) is smaller than the \(g.kernelHeight)x\(g.kernelWidth) window"
            )
        }
        return [g.batch, g.channels, g.outputHeight, g.outputWidth]
    }

    /// The window over an input of `inputShape` `[N, C, H, W]`.
    func geometry(_ inputShape: [Int]) -> WindowGeometry {
        WindowGeometry(input: inputShape, kernel: kernelSize, stride: stride, padding: padding)
    }
}

/// Max pooling: each output is the largest input in its `kernelSize` window (windows moved
/// by `stride`, default the kernel size; padding counts as −∞, so it never wins).
///
/// `fprop` remembers where each maximum came from, and `bprop` sends each output's
/// gradient to that input and nowhere else. **Ties**: the first maximum in scan order
/// (row by row, left to right within the window) wins, as in PyTorch. (Inputs are
/// assumed to be numbers: unlike PyTorch, a NaN is not guaranteed to propagate.)
///
/// ```swift
/// let pool = MaxPool2D<Float>(2)                                  // 2×2, stride 2: halves H and W
/// let overlapping = MaxPool2D<Float>(kernelSize: (3, 3), stride: (2, 2), padding: (1, 1))
/// ```
public final class MaxPool2D<Scalar: TensorScalar>: Pool2D<Scalar>, Layer {
    /// For each output of the last fprop, the index (h·W + w) of its maximum in its input plane.
    private var argmax: [Int32] = []
    private var argmaxShape: [Int]?

    // input [N, C, H, W] → output [N, C, outH, outW] (and argmax, same shape)
    public func fprop(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
        let shape = checkedOutputShape(input.shape)
        let g = geometry(input.shape)
        require(g.inputPlane <= Int(Int32.max), "MaxPool2D: input planes of \(g.inputPlane) pixels are too large (input \(input.shape))")
        let planes = g.batch * g.channels
        reserve(&argmax, planes * g.outputPlane)
        let output = input.withUnsafePointer { x in
            argmax.withUnsafeMutableBufferPointer { index in
                Tensor<Scalar>(shape: shape) { y in
                    Threads.parallelFor(planes, costPerItem: g.outputPlane * g.kernelHeight * g.kernelWidth) { range in
                        Scalar.maxPool2D(x, g, planes: range, y, index.baseAddress!)
                    }
                }
            }
        }
        argmaxShape = input.shape
        return output
    }

    // gradOutput [N, C, outH, outW] → gradInput [N, C, H, W]: each gradient goes to its argmax
    public func bprop(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) -> Tensor<Scalar> {
        checkGradOutput(input, gradOutput)
        if argmaxShape != input.shape { _ = fprop(input) }
        let g = geometry(input.shape)
        let planes = g.batch * g.channels
        return gradOutput.withUnsafePointer { gy in
            argmax.withUnsafeBufferPointer { index in
                Tensor<Scalar>(shape: input.shape) { gx in
                    Threads.parallelFor(planes, costPerItem: g.inputPlane + g.outputPlane) { range in
                        Scalar.maxPool2DBackward(gy, index.baseAddress!, g, planes: range, gx)
                    }
                }
            }
        }
    }
}

/// Average pooling: each output is the mean of its `kernelSize` window (windows moved by
/// `stride`, default the kernel size). Zero padding is counted in the mean — the divisor
/// is always kH·kW — which is PyTorch's default `count_include_pad=True`.
///
/// ```swift
/// let pool = AvgPool2D<Float>(2)                                  // 2×2 means, stride 2
/// ```
public final class AvgPool2D<Scalar: TensorScalar>: Pool2D<Scalar>, Layer {
    // input [N, C, H, W] → output [N, C, outH, outW]
    public func fprop(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
        let shape = checkedOutputShape(input.shape)
        let g = geometry(input.shape)
        let planes = g.batch * g.channels
        return input.withUnsafePointer { x in
            Tensor<Scalar>(shape: shape) { y in
                Threads.parallelFor(planes, costPerItem: g.outputPlane * g.kernelHeight * g.kernelWidth) { range in
                    Scalar.avgPool2D(x, g, planes: range, y)
                }
            }
        }
    }

    // gradOutput [N, C, outH, outW] → gradInput [N, C, H, W]: each gradient spread evenly over its window
    public func bprop(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) -> Tensor<Scalar> {
        checkGradOutput(input, gradOutput)
        let g = geometry(input.shape)
        let planes = g.batch * g.channels
        return gradOutput.withUnsafePointer { gy in
            Tensor<Scalar>(shape: input.shape) { gx in
                Threads.parallelFor(planes, costPerItem: g.inputPlane + g.outputPlane * g.kernelHeight * g.kernelWidth) { range in
                    Scalar.avgPool2DBackward(gy, g, planes: range, gx)
                }
            }
        }
    }
}
