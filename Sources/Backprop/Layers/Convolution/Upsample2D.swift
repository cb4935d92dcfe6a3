// Nearest-neighbour upsampling of NCHW images by integer factors (PyTorch's
// `nn.Upsample(scale_factor=s, mode="nearest")`), the planes split over cores.

/// Nearest-neighbour upsampling by integer factors: input `[N, C, H, W]` → output
/// `[N, C, H·sH, W·sW]`, each pixel repeated as an sH×sW block:
///
///     y[n, c, i, j] = x[n, c, i / sH, j / sW]      (integer division)
///
/// bprop sums each sH×sW block of gradOutput back onto its pixel. No parameters.
///
/// ```swift
/// let up = Upsample2D<Float>(scale: 2)              // [N, C, 7, 7] → [N, C, 14, 14]
/// let wide = Upsample2D<Float>(scale: (1, 3))       // [N, C, H, W] → [N, C, H, 3W]
/// ```
public final class Upsample2D<Scalar: TensorScalar>: Layer {
    /// sH, sW: how many times each pixel is repeated down and across.
    public let scale: (height: Int, width: Int)

    /// The factors `scale.0` (height) and `scale.1` (width), each at least 1.
    public init(scale: (Int, Int)) {
        require(scale.0 > 0 && scale.1 > 0, "Upsample2D: scale factors must be positive integers, got \(scale)")
        self.scale = scale
    }

    /// The same factor on both axes.
    public convenience init(scale: Int) { self.init(scale: (scale, scale)) }

    public var description: String {
        "Upsample2D(scale \(scale.height == scale.width ? "\(scale.height)" : "(\(scale.height), \(scale.width))"), nearest)"
    }

    /// `[N, C, H, W]` → `[N, C, H·sH, W·sW]`, or a `ShapeError` for any other rank.
    public func outputShape(for inputShape: [Int]) throws -> [Int] {
        guard inputShape.count == 4 else {
            throw ShapeError("\(self) expects input [N, C, H, W], got \(inputShape)")
        }
        return [inputShape[0], inputShape[1], inputShape[2] * scale.height, inputShape[3] * scale.width]
    }

    // input [N, C, H, W] → output [N, C, H·sH, W·sW]
    public func fprop(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
        let shape = checkedOutputShape(input.shape)
        let (planes, height, width) = (input.shape[0] * input.shape[1], input.shape[2], input.shape[3])
        let (sh, sw) = scale
        return input.withUnsafePointer { x in
            Tensor<Scalar>(shape: shape) { y in
                Threads.parallelFor(planes, costPerItem: height * width * sh * sw) { range in
                    Scalar.upsampleNearest2D(
                        x, height: height, width: width, scaleHeight: sh, scaleWidth: sw,
                        planes: range, y)
                }
            }
        }
    }

    // gradOutput [N, C, H·sH, W·sW] → gradInput [N, C, H, W], each pixel the sum of its block
    public func bprop(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) -> Tensor<Scalar> {
        checkGradOutput(input, gradOutput)
        let (planes, height, width) = (input.shape[0] * input.shape[1], input.shape[2], input.shape[3])
        let (sh, sw) = scale
        return gradOutput.withUnsafePointer { gy in
            Tensor<Scalar>(shape: input.shape) { gx in
                Threads.parallelFor(planes, costPerItem: height * width * sh * sw) { range in
                    Scalar.upsampleNearest2DBackward(
                        gy, height: height, width: width, scaleHeight: sh, scaleWidth: sw,
                        planes: range, gx)
                }
            }
        }
    }
}
