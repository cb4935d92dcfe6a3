import CKernels

/// `Float`'s convolution and pooling kernels: the contracts of `ConvolutionKernels` as C loops in
/// Sources/CKernels/convolution.c, compiled for AVX-512, AVX2 and the baseline and picked
/// for the CPU at load time (the Swift package itself is compiled for baseline SSE2):
/// im2col, col2im, the rearrangements around the GEMMs, the direct 3×3 convolution, pooling.
///
/// Results are the generic kernels' exactly (they copy, compare and select), except the
/// sums of `col2im` and of the direct convolution, which may differ by rounding (other
/// summation orders).
/// `Double` keeps the generic Swift kernels: it serves gradient checks.
extension Float {
    public static func im2col(
        _ input: UnsafePointer<Float>, _ g: WindowGeometry, images: Range<Int>,
        _ columns: UnsafeMutablePointer<Float>
    ) {
        // input [N, C, H, W] → columns [C·kH·kW, N·outH·outW]
        var window = g.window
        bp_im2col_f32(input, &window, images.lowerBound, images.upperBound, columns)
    }

    public static func col2im(
        _ columns: UnsafePointer<Float>, _ g: WindowGeometry, images: Range<Int>,
        _ gradInput: UnsafeMutablePointer<Float>
    ) {
        // columns [C·kH·kW, N·outH·outW] → gradInput [N, C, H, W]
        var window = g.window
        bp_col2im_f32(columns, &window, images.lowerBound, images.upperBound, gradInput)
    }

    public static func featureMajorToBatchMajor(
        _ product: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
        features: Int, batch: Int, plane: Int, images: Range<Int>,
        _ output: UnsafeMutablePointer<Float>
    ) {
        // product [F, N·P] (+ bias [F]) → output [N, F, P]
        bp_feature_major_to_batch_major_f32(
            product, bias, features, batch, plane,
            images.lowerBound, images.upperBound, output)
    }

    public static func batchMajorToFeatureMajor(
        _ x: UnsafePointer<Float>, features: Int, batch: Int, plane: Int,
        images: Range<Int>, _ columns: UnsafeMutablePointer<Float>
    ) {
        // x [N, F, P] → columns [F, N·P]
        bp_batch_major_to_feature_major_f32(x, features, batch, plane, images.lowerBound, images.upperBound, columns)
    }

    public static func hasDirectConvolution3x3(_ g: WindowGeometry) -> Bool {
        var window = g.window
        return bp_direct_conv3x3_available(&window) != 0
    }

    public static func packDirectConvolution3x3(
        _ weight: UnsafePointer<Float>, filters: Int, channels: Int, adjoint: Bool,
        _ packed: UnsafeMutablePointer<Float>
    ) {
        // weight [F, C, 3, 3] → packed [⌈F/16⌉, C, 9, 16] (adjoint: [⌈C/16⌉, F, 9, 16])
        bp_direct_conv3x3_pack_f32(weight, filters, channels, adjoint ? 1 : 0, packed)
    }

    public static func directConvolution3x3(
        _ input: UnsafePointer<Float>, channels: Int, height: Int, width: Int,
        stack: Int, _ packed: UnsafePointer<Float>, filters: Int, images: Range<Int>,
        _ output: UnsafeMutablePointer<Float>
    ) {
        // input [N, C, stack·H, W], packed [⌈F/16⌉, C, 9, 16] → output [N, F, stack·H, W]
        bp_direct_conv3x3_f32(
            input, channels, height, width, stack, packed, filters, images.lowerBound, images.upperBound,
            output)
    }

    public static func directConvolution3x3WeightGrad(
        _ input: UnsafePointer<Float>, _ gradOutput: UnsafePointer<Float>,
        channels: Int, height: Int, width: Int, filters: Int,
        images: Range<Int>, _ weightGrad: UnsafeMutablePointer<Float>
    ) {
        // input [N, C, H, W], gradOutput [N, F, H, W] → weightGrad [F, C, 3, 3] +=
        bp_direct_conv3x3_weight_grad_f32(
            input, gradOutput, channels, height, width, filters,
            images.lowerBound, images.upperBound, weightGrad)
    }

    public static func maxPool2D(
        _ input: UnsafePointer<Float>, _ g: WindowGeometry, planes: Range<Int>,
        _ output: UnsafeMutablePointer<Float>, _ argmax: UnsafeMutablePointer<Int32>
    ) {
        // input [N·C, H, W] → output, argmax [N·C, outH, outW]
        var window = g.window
        bp_max_pool_f32(input, &window, planes.lowerBound, planes.upperBound, output, argmax)
    }

    public static func maxPool2DBackward(
        _ gradOutput: UnsafePointer<Float>, _ argmax: UnsafePointer<Int32>,
        _ g: WindowGeometry, planes: Range<Int>, _ gradInput: UnsafeMutablePointer<Float>
    ) {
        // gradOutput, argmax [N·C, outH, outW] → gradInput [N·C, H, W]
        var window = g.window
        bp_max_pool_backward_f32(gradOutput, argmax, &window, planes.lowerBound, planes.upperBound, gradInput)
    }
}
