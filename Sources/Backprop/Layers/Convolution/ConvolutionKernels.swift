/// The loops of convolution, transposed convolution, pooling, padding and upsampling, as static kernels of the scalar type
/// (so they are compiled once for `Float` and once for `Double`, never run generically).
///
/// Each kernel works on a sub-range of the batch (`images`) or of the image planes
/// (`planes`, an index into the N·C planes), so that a layer can split the work over
/// cores with `Threads.parallelFor`: different ranges never write the same memory.
public protocol ConvolutionKernels {
    /// im2col: unrolls every window of `input` into a column.
    ///
    /// input `[N, C, H, W]` → columns `[C·kH·kW, N·outH·outW]`: row (c, i, j), column
    /// (n, oh, ow) holds input[n, c, oh·sH − pH + i, ow·sW − pW + j], or 0 in the padding.
    /// Writes the columns of the images in `images` only.
    static func im2col(
        _ input: UnsafePointer<Self>, _ g: WindowGeometry, images: Range<Int>,
        _ columns: UnsafeMutablePointer<Self>)

    /// col2im, the adjoint of `im2col`: adds every column back onto the pixels it came from.
    ///
    /// columns `[C·kH·kW, N·outH·outW]` → gradInput `[N, C, H, W]`, the images in `images`
    /// overwritten (zeroed first, then summed into).
    static func col2im(
        _ columns: UnsafePointer<Self>, _ g: WindowGeometry, images: Range<Int>,
        _ gradInput: UnsafeMutablePointer<Self>)

    /// Batch-major from feature-major: product `[F, N·P]` (+ bias `[F]`) → output `[N, F, P]`,
    /// for the images in `images`.
    static func featureMajorToBatchMajor(
        _ product: UnsafePointer<Self>, bias: UnsafePointer<Self>?,
        features: Int, batch: Int, plane: Int, images: Range<Int>,
        _ output: UnsafeMutablePointer<Self>)

    /// Feature-major from batch-major: x `[N, F, P]` → columns `[F, N·P]`, for the images in `images`.
    static func batchMajorToFeatureMajor(
        _ x: UnsafePointer<Self>, features: Int, batch: Int, plane: Int,
        images: Range<Int>, _ columns: UnsafeMutablePointer<Self>)

    /// Max pooling: input `[N·C, H, W]` → output `[N·C, outH, outW]` and, for each output,
    /// the index inside its input plane (`h·W + w`) of the maximum, for the planes in `planes`.
    /// Positions in the padding never win. Ties: the first maximum in scan order (row by
    /// row, left to right) wins. Inputs are assumed to be numbers (comparisons with NaN are
    /// false, so how a NaN fares is unspecified).
    static func maxPool2D(
        _ input: UnsafePointer<Self>, _ g: WindowGeometry, planes: Range<Int>,
        _ output: UnsafeMutablePointer<Self>, _ argmax: UnsafeMutablePointer<Int32>)

    /// Max pooling backward: gradInput `[N·C, H, W]` (planes overwritten) gets each
    /// gradOutput `[N·C, outH, outW]` element added at its `argmax`, zeros elsewhere.
    static func maxPool2DBackward(
        _ gradOutput: UnsafePointer<Self>, _ argmax: UnsafePointer<Int32>,
        _ g: WindowGeometry, planes: Range<Int>, _ gradInput: UnsafeMutablePointer<Self>)

    /// Average pooling, zero padding counted in the average (PyTorch's `count_include_pad=True`):
    /// input `[N·C, H, W]` → output `[N·C, outH, outW]`, each the window sum / (kH·kW).
    static func avgPool2D(
        _ input: UnsafePointer<Self>, _ g: WindowGeometry, planes: Range<Int>,
        _ output: UnsafeMutablePointer<Self>)

    /// Average pooling backward: gradInput `[N·C, H, W]` (planes overwritten) gets each
    /// gradOutput element / (kH·kW) added over its window.
    static func avgPool2DBackward(
        _ gradOutput: UnsafePointer<Self>, _ g: WindowGeometry, planes: Range<Int>,
        _ gradInput: UnsafeMutablePointer<Self>)

    /// Zero padding: input `[planes, H, W]` → output `[planes, top + H + bottom, left + W + right]`,
    /// for the planes in `planes`.
    static func pad2D(
        _ input: UnsafePointer<Self>, height: Int, width: Int,
        top: Int, bottom: Int, left: Int, right: Int, planes: Range<Int>,
        _ output: UnsafeMutablePointer<Self>)

    /// The adjoint of `pad2D`, a crop: padded `[planes, top + H + bottom, left + W + right]` →
    /// inner `[planes, H, W]`, for the planes in `planes`.
    static func crop2D(
        _ padded: UnsafePointer<Self>, height: Int, width: Int,
        top: Int, bottom: Int, left: Int, right: Int, planes: Range<Int>,
        _ inner: UnsafeMutablePointer<Self>)

    /// Bias per channel: x `[N, C, P]` += bias[c] on every position of channel c, for the
    /// images in `images` (a transposed convolution's bias).
    static func addChannelBias(
        _ bias: UnsafePointer<Self>, channels: Int, plane: Int, images: Range<Int>,
        _ x: UnsafeMutablePointer<Self>)

    /// Sums per channel: out `[C]` (+)= Σ over the images in `images` and the positions p of
    /// x `[N, C, P]` (the gradient of `addChannelBias`); adds to `out` when `accumulate`,
    /// else overwrites it.
    static func channelSums(
        _ x: UnsafePointer<Self>, channels: Int, plane: Int, images: Range<Int>,
        _ out: UnsafeMutablePointer<Self>, accumulate: Bool)

    /// Whether the direct 3×3 kernels below run for `g`: a 3×3 window, stride 1, padding 1
    /// (the output the size of the input) and a scalar type and CPU that have them (`Float`
    /// on AVX-512). Else false, and a convolution goes through `im2col` and a GEMM.
    static func hasDirectConvolution3x3(_ g: WindowGeometry) -> Bool

    /// The weights in the direct kernel's layout: weight `[F, C, 3, 3]` → packed
    /// `[⌈F/16⌉, C, 9, 16]`; with `adjoint`, those of the adjoint convolution (gradOutput →
    /// gradInput: channels and filters swapped, window turned by 180°), `[⌈C/16⌉, F, 9, 16]`.
    static func packDirectConvolution3x3(
        _ weight: UnsafePointer<Self>, filters: Int, channels: Int, adjoint: Bool,
        _ packed: UnsafeMutablePointer<Self>)

    /// The direct 3×3, stride-1, padding-1 convolution: input `[N, C, H, W]` and packed
    /// weights `[⌈F/16⌉, C, 9, 16]` → output `[N, F, H, W]`, the images in `images` overwritten.
    /// With `stack` > 1 each plane holds `stack` H×W images one above the other (input
    /// `[N, C, stack·H, W]`, output `[N, F, stack·H, W]`; no window reaches across two).
    static func directConvolution3x3(
        _ input: UnsafePointer<Self>, channels: Int, height: Int, width: Int, stack: Int,
        _ packed: UnsafePointer<Self>, filters: Int, images: Range<Int>,
        _ output: UnsafeMutablePointer<Self>)

    /// Its weight gradient: input `[N, C, H, W]`, gradOutput `[N, F, H, W]` →
    /// weightGrad `[F, C, 3, 3]` += the sum over the images in `images`.
    static func directConvolution3x3WeightGrad(
        _ input: UnsafePointer<Self>, _ gradOutput: UnsafePointer<Self>,
        channels: Int, height: Int, width: Int, filters: Int,
        images: Range<Int>, _ weightGrad: UnsafeMutablePointer<Self>)

    /// Nearest-neighbour upsampling by integer factors: input `[planes, H, W]` → output
    /// `[planes, H·sH, W·sW]`, output[p, i, j] = input[p, i / sH, j / sW], for the planes in `planes`.
    static func upsampleNearest2D(
        _ input: UnsafePointer<Self>, height: Int, width: Int,
        scaleHeight: Int, scaleWidth: Int, planes: Range<Int>,
        _ output: UnsafeMutablePointer<Self>)

    /// Its adjoint: gradOutput `[planes, H·sH, W·sW]` → gradInput `[planes, H, W]` (planes
    /// overwritten), each gradInput[p, i, j] the sum of its sH×sW block of gradOutput.
    static func upsampleNearest2DBackward(
        _ gradOutput: UnsafePointer<Self>, height: Int, width: Int,
        scaleHeight: Int, scaleWidth: Int, planes: Range<Int>,
        _ gradInput: UnsafeMutablePointer<Self>)
}

extension ConvolutionKernels where Self: TensorScalar {
    /// The generic kernels have no direct convolution: convolutions use im2col and a GEMM.
    public static func hasDirectConvolution3x3(_ g: WindowGeometry) -> Bool { false }

    public static func packDirectConvolution3x3(
        _ weight: UnsafePointer<Self>, filters: Int, channels: Int, adjoint: Bool,
        _ packed: UnsafeMutablePointer<Self>
    ) {
        require(false, "packDirectConvolution3x3: no direct convolution for \(Self.self) (check hasDirectConvolution3x3)")
    }

    public static func directConvolution3x3(
        _ input: UnsafePointer<Self>, channels: Int, height: Int, width: Int,
        stack: Int, _ packed: UnsafePointer<Self>, filters: Int, images: Range<Int>,
        _ output: UnsafeMutablePointer<Self>
    ) {
        require(false, "directConvolution3x3: no direct convolution for \(Self.self) (check hasDirectConvolution3x3)")
    }

    public static func directConvolution3x3WeightGrad(
        _ input: UnsafePointer<Self>, _ gradOutput: UnsafePointer<Self>,
        channels: Int, height: Int, width: Int, filters: Int,
        images: Range<Int>, _ weightGrad: UnsafeMutablePointer<Self>
    ) {
        require(false, "directConvolution3x3WeightGrad: no direct convolution for \(Self.self) (check hasDirectConvolution3x3)")
    }

    public static func im2col(
        _ input: UnsafePointer<Self>, _ g: WindowGeometry, images: Range<Int>,
        _ columns: UnsafeMutablePointer<Self>
    ) {
        // input [N, C, H, W] → columns [C·kH·kW, N·outH·outW]
        // Row by row of the columns, and image by image inside a row: each row is written
        // front to back. A row segment for one image is outH runs of outW values, each run
        // a (strided) piece of one input row, with zeros where the window is in the padding.
        let outH = g.outputHeight, outW = g.outputWidth, plane = g.outputPlane
        let rowLength = g.columnCount // N·outH·outW
        let sw = g.strideWidth
        for c in 0..<g.channels {
            for i in 0..<g.kernelHeight {
                let rows = g.validRows(i) // oh whose window row i is inside the image
                for j in 0..<g.kernelWidth {
                    let row = (c &* g.kernelHeight &+ i) &* g.kernelWidth &+ j
                    let valid = g.validColumns(j) // ow whose window column j is inside the image
                    let count = valid.count, lo = valid.lowerBound, hi = valid.upperBound
                    // input offset of (oh = 0, ow = lo) relative to the image (may be negative: never read)
                    let first = (0 &- g.paddingHeight &+ i) &* g.width &+ lo &* sw &- g.paddingWidth &+ j
                    for n in images {
                        let image = input + (n &* g.channels &+ c) &* g.inputPlane
                        let block = columns + (row &* rowLength &+ n &* plane)
                        fill(block, 0, rows.lowerBound &* outW)
                        for oh in rows {
                            let dst = block + oh &* outW
                            let src = image + (first &+ oh &* g.strideHeight &* g.width)
                            for ow in 0..<lo { dst[ow] = 0 }
                            let d = dst + lo
                            if sw == 1 {
                                for k in 0..<count { d[k] = src[k] }
                            } else {
                                for k in 0..<count { d[k] = src[k &* sw] }
                            }
                            for ow in hi..<outW { dst[ow] = 0 }
                        }
                        fill(block + rows.upperBound &* outW, 0, (outH &- rows.upperBound) &* outW)
                    }
                }
            }
        }
    }

    public static func col2im(
        _ columns: UnsafePointer<Self>, _ g: WindowGeometry, images: Range<Int>,
        _ gradInput: UnsafeMutablePointer<Self>
    ) {
        // columns [C·kH·kW, N·outH·outW] → gradInput [N, C, H, W]
        // The adjoint of im2col, in the same order: every value read back from a column
        // row is added onto the input pixel it was copied from (padding positions dropped).
        let plane = g.outputPlane, outW = g.outputWidth
        let rowLength = g.columnCount
        let sw = g.strideWidth
        let imageSize = g.channels &* g.inputPlane
        fill(gradInput + images.lowerBound &* imageSize, 0, images.count &* imageSize)
        for c in 0..<g.channels {
            for i in 0..<g.kernelHeight {
                let rows = g.validRows(i)
                for j in 0..<g.kernelWidth {
                    let row = (c &* g.kernelHeight &+ i) &* g.kernelWidth &+ j
                    let valid = g.validColumns(j)
                    let count = valid.count, lo = valid.lowerBound
                    let first = (0 &- g.paddingHeight &+ i) &* g.width &+ lo &* sw &- g.paddingWidth &+ j
                    for n in images {
                        let image = gradInput + (n &* g.channels &+ c) &* g.inputPlane
                        let block = columns + (row &* rowLength &+ n &* plane)
                        for oh in rows {
                            let src = block + (oh &* outW &+ lo)
                            let dst = image + (first &+ oh &* g.strideHeight &* g.width)
                            if sw == 1 {
                                for k in 0..<count { dst[k] += src[k] }
                            } else {
                                for k in 0..<count { dst[k &* sw] += src[k] }
                            }
                        }
                    }
                }
            }
        }
    }

    public static func featureMajorToBatchMajor(
        _ product: UnsafePointer<Self>, bias: UnsafePointer<Self>?,
        features: Int, batch: Int, plane: Int, images: Range<Int>,
        _ output: UnsafeMutablePointer<Self>
    ) {
        // product [F, N·P] (+ bias [F]) → output [N, F, P]
        for n in images {
            for f in 0..<features {
                let src = product + (f &* batch &* plane &+ n &* plane)
                let dst = output + (n &* features &+ f) &* plane
                if let bias {
                    let b = bias[f]
                    for p in 0..<plane { dst[p] = src[p] + b }
                } else {
                    copy(src, dst, plane)
                }
            }
        }
    }

    public static func batchMajorToFeatureMajor(
        _ x: UnsafePointer<Self>, features: Int, batch: Int, plane: Int,
        images: Range<Int>, _ columns: UnsafeMutablePointer<Self>
    ) {
        // x [N, F, P] → columns [F, N·P]
        for n in images {
            for f in 0..<features {
                copy(x + (n &* features &+ f) &* plane, columns + (f &* batch &* plane &+ n &* plane), plane)
            }
        }
    }

    public static func pad2D(
        _ input: UnsafePointer<Self>, height: Int, width: Int,
        top: Int, bottom: Int, left: Int, right: Int, planes: Range<Int>,
        _ output: UnsafeMutablePointer<Self>
    ) {
        // input [planes, H, W] → output [planes, top + H + bottom, left + W + right]
        let outW = left &+ width &+ right, outPlane = (top &+ height &+ bottom) &* outW
        for plane in planes {
            let x = input + plane &* height &* width, y = output + plane &* outPlane
            fill(y, 0, top &* outW)
            for h in 0..<height {
                let row = y + (top &+ h) &* outW
                fill(row, 0, left)
                copy(x + h &* width, row + left, width)
                fill(row + (left &+ width), 0, right)
            }
            fill(y + (top &+ height) &* outW, 0, bottom &* outW)
        }
    }

    public static func crop2D(
        _ padded: UnsafePointer<Self>, height: Int, width: Int,
        top: Int, bottom: Int, left: Int, right: Int, planes: Range<Int>,
        _ inner: UnsafeMutablePointer<Self>
    ) {
        // padded [planes, top + H + bottom, left + W + right] → inner [planes, H, W]
        let outW = left &+ width &+ right, outPlane = (top &+ height &+ bottom) &* outW
        for plane in planes {
            let y = padded + plane &* outPlane, x = inner + plane &* height &* width
            for h in 0..<height { copy(y + ((top &+ h) &* outW &+ left), x + h &* width, width) }
        }
    }

    public static func addChannelBias(
        _ bias: UnsafePointer<Self>, channels: Int, plane: Int, images: Range<Int>,
        _ x: UnsafeMutablePointer<Self>
    ) {
        // x [N, C, P] += bias [C]
        for n in images {
            for c in 0..<channels {
                let row = x + (n &* channels &+ c) &* plane, b = bias[c]
                for p in 0..<plane { row[p] += b }
            }
        }
    }

    public static func channelSums(
        _ x: UnsafePointer<Self>, channels: Int, plane: Int, images: Range<Int>,
        _ out: UnsafeMutablePointer<Self>, accumulate: Bool
    ) {
        // x [N, C, P] → out [C]
        if !accumulate { fill(out, 0, channels) }
        for n in images {
            for c in 0..<channels { out[c] += sum(x + (n &* channels &+ c) &* plane, plane) }
        }
    }

    public static func upsampleNearest2D(
        _ input: UnsafePointer<Self>, height: Int, width: Int,
        scaleHeight: Int, scaleWidth: Int, planes: Range<Int>,
        _ output: UnsafeMutablePointer<Self>
    ) {
        // input [planes, H, W] → output [planes, H·sH, W·sW]
        let outW = width &* scaleWidth, outPlane = height &* scaleHeight &* outW
        for plane in planes {
            let x = input + plane &* height &* width, y = output + plane &* outPlane
            for i in 0..<height {
                // the first output row of input row i, then its copies
                let first = y + i &* scaleHeight &* outW, src = x + i &* width
                for j in 0..<width {
                    let v = src[j], dst = first + j &* scaleWidth
                    for k in 0..<scaleWidth { dst[k] = v }
                }
                for r in 1..<Swift.max(scaleHeight, 1) { copy(first, first + r &* outW, outW) }
            }
        }
    }

    public static func upsampleNearest2DBackward(
        _ gradOutput: UnsafePointer<Self>, height: Int, width: Int,
        scaleHeight: Int, scaleWidth: Int, planes: Range<Int>,
        _ gradInput: UnsafeMutablePointer<Self>
    ) {
        // gradOutput [planes, H·sH, W·sW] → gradInput [planes, H, W]
        let outW = width &* scaleWidth, outPlane = height &* scaleHeight &* outW
        for plane in planes {
            let gy = gradOutput + plane &* outPlane, gx = gradInput + plane &* height &* width
            for i in 0..<height {
                let row = gx + i &* width
                fill(row, 0, width)
                for r in 0..<scaleHeight {
                    let src = gy + (i &* scaleHeight &+ r) &* outW
                    for j in 0..<width {
                        let block = src + j &* scaleWidth
                        var total: Self = 0
                        for k in 0..<scaleWidth { total += block[k] }
                        row[j] += total
                    }
                }
            }
        }
    }
}
