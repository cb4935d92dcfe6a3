import CKernels

/// The geometry of a 2-D sliding window (a convolution or a pooling) over a batch of
/// images in NCHW layout: input `[batch, channels, height, width]`, a `kernelHeight ×
/// kernelWidth` window moved by `stride…` over the input zero-padded (or, for max
/// pooling, −∞-padded) by `padding…` on both sides of each axis.
///
/// The output has `outputHeight = (height + 2·paddingHeight − kernelHeight) / strideHeight + 1`
/// rows (rounded down, as in PyTorch), and likewise for the width.
public struct WindowGeometry: Equatable, Sendable {
    public var batch: Int
    public var channels: Int
    public var height: Int
    public var width: Int
    public var kernelHeight: Int
    public var kernelWidth: Int
    public var strideHeight: Int
    public var strideWidth: Int
    public var paddingHeight: Int
    public var paddingWidth: Int

    /// The geometry of `kernel` moved by `stride` over `input` (`[N, C, H, W]`) padded by `padding`.
    public init(input shape: [Int], kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int)) {
        require(shape.count == 4, "WindowGeometry: input must be [N, C, H, W], got \(shape)")
        batch = shape[0]; channels = shape[1]; height = shape[2]; width = shape[3]
        (kernelHeight, kernelWidth) = kernel
        (strideHeight, strideWidth) = stride
        (paddingHeight, paddingWidth) = padding
    }

    public var outputHeight: Int { (height + 2 * paddingHeight - kernelHeight) / strideHeight + 1 }
    public var outputWidth: Int { (width + 2 * paddingWidth - kernelWidth) / strideWidth + 1 }
    /// Pixels in one input plane: H·W.
    public var inputPlane: Int { height * width }
    /// Pixels in one output plane: outH·outW.
    public var outputPlane: Int { outputHeight * outputWidth }
    /// Rows of the im2col matrix: C·kH·kW (one per weight of a filter).
    public var columnRows: Int { channels * kernelHeight * kernelWidth }
    /// Columns of the im2col matrix: N·outH·outW (one per output position of the batch).
    public var columnCount: Int { batch * outputPlane }

    /// The output rows `oh` whose window row `ki` lands inside the input (not in the padding):
    /// ih = oh·strideHeight − paddingHeight + ki ∈ [0, height).
    @inline(__always) func validRows(_ ki: Int) -> Range<Int> {
        let shift = paddingHeight - ki
        let lo = Swift.min(shift > 0 ? (shift + strideHeight - 1) / strideHeight : 0, outputHeight)
        let last = height - 1 + shift
        let hi = last < 0 ? 0 : Swift.min(outputHeight, last / strideHeight + 1)
        return lo < hi ? lo..<hi : lo..<lo
    }

    /// The output columns `ow` whose window column `kj` lands inside the input (not in the padding):
    /// iw = ow·strideWidth − paddingWidth + kj ∈ [0, width).
    @inline(__always) func validColumns(_ kj: Int) -> Range<Int> {
        let shift = paddingWidth - kj
        let lo = Swift.min(shift > 0 ? (shift + strideWidth - 1) / strideWidth : 0, outputWidth)
        let last = width - 1 + shift // largest ow·strideWidth allowed
        let hi = last < 0 ? 0 : Swift.min(outputWidth, last / strideWidth + 1)
        return lo < hi ? lo..<hi : lo..<lo
    }
}

extension WindowGeometry {
    /// The same geometry as the C kernels' struct.
    var window: bp_window {
        bp_window(
            batch: batch, channels: channels, height: height, width: width,
            kernel_height: kernelHeight, kernel_width: kernelWidth,
            stride_height: strideHeight, stride_width: strideWidth,
            padding_height: paddingHeight, padding_width: paddingWidth)
    }
}
