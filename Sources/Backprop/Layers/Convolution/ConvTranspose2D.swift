// The transposed 2-D convolution (PyTorch's `nn.ConvTranspose2d`, a "deconvolution"): the
// adjoint of `Conv2D` with respect to its input, computed with Conv2D's own machinery
// (im2col, col2im, GEMM) with the roles of fprop and bprop exchanged.

/// A transposed 2-D convolution in PyTorch's layouts: input `[N, C, H, W]`, weight
/// `[C, F, kH, kW]` (input channels first, as PyTorch's `ConvTranspose2d.weight`), optional
/// bias `[F]`, output `[N, F, outH, outW]` with
///
///     outH = (H − 1)·stride.height − 2·padding.height + kH + outputPadding.height
///
/// (and likewise for the width). Each input pixel scatters its C values, through the weight,
/// onto a kH×kW window of the output placed at (h·stride − padding, w·stride − padding):
///
///     y[n, f, h·sH − pH + i, w·sW − pW + j] += Σ_c x[n, c, h, w] · weight[c, f, i, j]   (+ bias[f])
///
/// with the positions that fall outside the output dropped. `outputPadding` (less than the
/// stride, as PyTorch requires) adds rows and columns at the bottom and right only, so that a
/// stride-s convolution's input size can be recovered exactly (a DCGAN generator's
/// `ConvTranspose2D(C, F, kernelSize: 4, stride: 2, padding: 1)` doubles H and W).
///
/// ```swift
/// let up = ConvTranspose2D<Float>(64, 32, kernelSize: 4, stride: 2, padding: 1)        // [N, 64, 8, 8] → [N, 32, 16, 16]
/// let odd = ConvTranspose2D<Float>(16, 8, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1)  // H → 2H
/// ```
///
/// How it is computed. The layer is the input-adjoint of the `Conv2D` from `[N, F, outH, outW]`
/// to `[N, C, H, W]` with the same kernel, stride and padding and the same weight read as
/// `[C, F·kH·kW]` (`geometry(_:)` is that convolution's window). So:
///
/// - fprop = that convolution's bprop: columns `[F·kH·kW, N·H·W]` = Wᵀ · x (x as `[C, N·H·W]`),
///   then col2im adds each column onto the output window it belongs to (plus the bias);
/// - bprop = its fprop: im2col of gradOutput, columns `[F·kH·kW, N·H·W]`, then W · columns
///   `[C, N·H·W]` rearranged to `[N, C, H, W]`;
/// - grad: W.grad `[C, F·kH·kW]` += x `[C, N·H·W]` · columnsᵀ (im2col of gradOutput), and
///   bias.grad `[F]` += the sums of gradOutput over N, outH and outW.
///
/// The batch goes through in blocks of images whose columns and channel-major input fit in
/// about 1 MB (as `Conv2D` does), one block after the other; each block's GEMM is split over
/// cores by `Scalar.gemm` itself, and its im2col / col2im over its images. (Simpler than
/// `Conv2D`'s one-pipeline-per-core scheme; results do not depend on the thread count except
/// through the GEMM's own splitting.) Only two work buffers are kept between calls, released
/// after `fprop` in evaluation mode.
public final class ConvTranspose2D<Scalar: TensorScalar>: Layer {
    /// `[C, F, kH, kW]` (input channels first, as PyTorch).
    public let weight: Parameter<Scalar>
    /// `[F]`, or nil for a layer without bias.
    public let bias: Parameter<Scalar>?
    /// C, the channels of the input.
    public let inChannels: Int
    /// F, the channels of the output.
    public let outChannels: Int
    public let kernelSize: (height: Int, width: Int)
    public let stride: (height: Int, width: Int)
    /// Rows and columns removed from both sides of the full output (the padding of the
    /// convolution this layer is the adjoint of).
    public let padding: (height: Int, width: Int)
    /// Rows added at the bottom and columns at the right of the output (each less than the stride).
    public let outputPadding: (height: Int, width: Int)
    /// In evaluation mode the work buffers are released after each `fprop`.
    public var isTraining = true

    /// A block's columns `[F·kH·kW, B·H·W]` and channel-major input or input gradient `[C, B·H·W]`.
    private var columns: [Scalar] = []
    private var features: [Scalar] = []

    /// A transposed convolution `inChannels → outChannels` with a `kernelSize.0 × kernelSize.1`
    /// kernel. Weights and bias are drawn by `initializer` with PyTorch's fans for this
    /// layer: fanIn = F·kH·kW (the weight's dimension 1 times the kernel, as PyTorch's
    /// `_calculate_fan_in_and_fan_out` computes it), fanOut = C·kH·kW; so the default
    /// `.uniformFanIn` is PyTorch's default, uniform ±1/√(F·kH·kW) for weight and bias.
    public init(
        _ inChannels: Int, _ outChannels: Int, kernelSize: (Int, Int), stride: (Int, Int) = (1, 1),
        padding: (Int, Int) = (0, 0), outputPadding: (Int, Int) = (0, 0), bias: Bool = true,
        initializer: Initializer = .uniformFanIn, using rng: inout Random
    ) {
        require(
            inChannels > 0 && outChannels > 0,
            "ConvTranspose2D: channel counts must be positive, got \(inChannels) -> \(outChannels)")
        require(kernelSize.0 > 0 && kernelSize.1 > 0, "ConvTranspose2D: kernelSize must be positive, got \(kernelSize)")
        require(stride.0 > 0 && stride.1 > 0, "ConvTranspose2D: stride must be positive, got \(stride)")
        require(padding.0 >= 0 && padding.1 >= 0, "ConvTranspose2D: padding cannot be negative, got \(padding)")
        require(
            outputPadding.0 >= 0 && outputPadding.1 >= 0 && outputPadding.0 < stride.0 && outputPadding.1 < stride.1,
            "ConvTranspose2D: outputPadding must be at least 0 and smaller than the stride (as in PyTorch), got outputPadding \(outputPadding) for stride \(stride)"
        )
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding
        self.outputPadding = outputPadding
        // PyTorch's fan-in of a transposed convolution is weight dim 1 (C_out) × kH × kW
        let fanIn = outChannels * kernelSize.0 * kernelSize.1, fanOut = inChannels * kernelSize.0 * kernelSize.1
        (weight, self.bias) = convolutionParameters(
            weight: [inChannels, outChannels, kernelSize.0, kernelSize.1],
            bias: bias ? outChannels : nil, fanIn: fanIn, fanOut: fanOut,
            initializer: initializer, using: &rng)
    }

    /// Same, initialised from the global generator.
    public convenience init(
        _ inChannels: Int, _ outChannels: Int, kernelSize: (Int, Int), stride: (Int, Int) = (1, 1),
        padding: (Int, Int) = (0, 0), outputPadding: (Int, Int) = (0, 0), bias: Bool = true,
        initializer: Initializer = .uniformFanIn
    ) {
        self.init(
            inChannels, outChannels, kernelSize: kernelSize, stride: stride, padding: padding,
            outputPadding: outputPadding, bias: bias, initializer: initializer, using: &Random.global)
    }

    /// A square `kernelSize × kernelSize` kernel, the same stride, padding and output padding on both axes.
    public convenience init(
        _ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
        outputPadding: Int = 0, bias: Bool = true, initializer: Initializer = .uniformFanIn
    ) {
        self.init(
            inChannels, outChannels, kernelSize: (kernelSize, kernelSize), stride: (stride, stride),
            padding: (padding, padding), outputPadding: (outputPadding, outputPadding), bias: bias,
            initializer: initializer, using: &Random.global)
    }

    public var description: String {
        func pair(_ p: (height: Int, width: Int)) -> String { p.height == p.width ? "\(p.height)" : "(\(p.height), \(p.width))" }
        var text = "ConvTranspose2D(\(inChannels) -> \(outChannels), \(kernelSize.height)x\(kernelSize.width)"
        if stride != (1, 1) { text += ", stride \(pair(stride))" }
        if padding != (0, 0) { text += ", padding \(pair(padding))" }
        if outputPadding != (0, 0) { text += ", outputPadding \(pair(outputPadding))" }
        return text + (bias == nil ? ", no bias)" : ")")
    }

    public var namedParameters: [(name: String, parameter: Parameter<Scalar>)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }

    /// `[N, C, H, W]` → `[N, F, outH, outW]`, or a `ShapeError` when the input is not
    /// `[N, C, H, W]` with this layer's C, has an empty image, or the padding leaves no output.
    public func outputShape(for inputShape: [Int]) throws -> [Int] {
        guard inputShape.count == 4, inputShape[1] == inChannels, inputShape[0] >= 0 else {
            throw ShapeError("\(self) expects input [N, \(inChannels), H, W], got \(inputShape)")
        }
        guard inputShape[2] > 0, inputShape[3] > 0 else {
            throw ShapeError("\(self): input \(inputShape) has an empty image")
        }
        let (height, width) = outputSize(inputShape[2], inputShape[3])
        guard height > 0, width > 0 else {
            throw ShapeError(
                "\(self): input \(inputShape) gives an output of \(height)x\(width) ((H − 1)·stride − 2·padding + kernel + outputPadding), which is empty"
            )
        }
        return [inputShape[0], outChannels, height, width]
    }

    /// outH, outW for an input of `height × width`.
    func outputSize(_ height: Int, _ width: Int) -> (Int, Int) {
        (
            (height - 1) * stride.height - 2 * padding.height + kernelSize.height + outputPadding.height,
            (width - 1) * stride.width - 2 * padding.width + kernelSize.width + outputPadding.width
        )
    }

    /// The window of the convolution this layer is the adjoint of: input `[N, F, outH, outW]`
    /// (this layer's output), output `[N, C, H, W]` (this layer's input; its outputHeight is H
    /// because outputPadding < stride). Its columns are `[F·kH·kW, N·H·W]`.
    func geometry(_ inputShape: [Int]) -> WindowGeometry {
        let (height, width) = outputSize(inputShape[2], inputShape[3])
        return WindowGeometry(
            input: [inputShape[0], outChannels, height, width], kernel: kernelSize,
            stride: stride, padding: padding)
    }

    // input [N, C, H, W], weight [C, F, kH, kW] → output [N, F, outH, outW]
    public func fprop(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
        let shape = checkedOutputShape(input.shape)
        let g = geometry(input.shape)
        guard g.columnCount > 0 else { return Tensor(uninitialized: shape) }
        let (c, f, k, plane, outImage) = (inChannels, outChannels, g.columnRows, g.outputPlane, outChannels * g.inputPlane)
        let output = input.withUnsafePointer { x in
            Tensor<Scalar>(shape: shape) { y in
                weight.value.withUnsafePointer { w in
                    withBias { bias in
                        forEachBlock(g) { block, first, columns, features in
                            let n = block.columnCount, out = y + first * outImage
                            // features [C, B·H·W] ← input [B, C, H·W]
                            Scalar.batchMajorToFeatureMajor(
                                x + first * c * plane, features: c, batch: block.batch, plane: plane,
                                images: 0..<block.batch, features)
                            // columns [F·kH·kW, B·H·W] = weightᵀ [F·kH·kW, C] · features [C, B·H·W]
                            Scalar.gemm(
                                transA: true, transB: false, m: k, n: n, k: c, alpha: 1,
                                a: w, lda: k, b: features, ldb: n, beta: 0, c: columns, ldc: n)
                            // columns → output [B, F, outH, outW], overlapping windows summed (+ bias [F])
                            Threads.parallelFor(block.batch, costPerItem: k * plane) { images in
                                Scalar.col2im(columns, block, images: images, out)
                                if let bias { Scalar.addChannelBias(bias, channels: f, plane: g.inputPlane, images: images, out) }
                            }
                        }
                    }
                }
            }
        }
        if !isTraining { columns = []; features = [] } // evaluation batches can be large, and no grad follows
        return output
    }

    // gradOutput [N, F, outH, outW] → im2col columns [F·kH·kW, N·H·W]; gradInput [N, C, H, W] = weight [C, F·kH·kW] · columns
    public func bprop(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) -> Tensor<Scalar> {
        checkGradOutput(input, gradOutput)
        let g = geometry(input.shape)
        guard g.columnCount > 0 else { return .zeros(input.shape) }
        let (c, k, plane, outImage) = (inChannels, g.columnRows, g.outputPlane, outChannels * g.inputPlane)
        return gradOutput.withUnsafePointer { gy in
            weight.value.withUnsafePointer { w in
                Tensor<Scalar>(shape: input.shape) { gx in
                    forEachBlock(g) { block, first, columns, features in
                        let n = block.columnCount
                        // columns [F·kH·kW, B·H·W] ← gradOutput [B, F, outH, outW]
                        Threads.parallelFor(block.batch, costPerItem: k * plane) { images in
                            Scalar.im2col(gy + first * outImage, block, images: images, columns)
                        }
                        // features [C, B·H·W] = weight [C, F·kH·kW] · columns [F·kH·kW, B·H·W]
                        Scalar.gemm(
                            transA: false, transB: false, m: c, n: n, k: k, alpha: 1,
                            a: w, lda: k, b: columns, ldb: n, beta: 0, c: features, ldc: n)
                        // [C, B·H·W] → gradInput [B, C, H, W]
                        Scalar.featureMajorToBatchMajor(
                            features, bias: nil, features: c, batch: block.batch, plane: plane,
                            images: 0..<block.batch, gx + first * c * plane)
                    }
                }
            }
        }
    }

    // weight.grad [C, F·kH·kW] += input [C, N·H·W] · columnsᵀ [N·H·W, F·kH·kW] (columns: im2col of gradOutput);
    // bias.grad [F] += Σ_(n, outH, outW) gradOutput
    public func grad(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) {
        checkGradOutput(input, gradOutput)
        let g = geometry(input.shape)
        let (c, k, plane, outImage) = (inChannels, g.columnRows, g.outputPlane, outChannels * g.inputPlane)
        input.withUnsafePointer { x in
            gradOutput.withUnsafePointer { gy in
                weight.accumulateGrad { weightGrad, firstBeta in
                    var beta = firstBeta // 0 right after zeroGrad: the first GEMM overwrites
                    weightGrad.withUnsafeMutablePointer { gw in
                        if g.columnCount == 0 {
                            if beta == 0 { Scalar.fill(gw, 0, c * k) }
                            return
                        }
                        forEachBlock(g) { block, first, columns, features in
                            let n = block.columnCount
                            // columns [F·kH·kW, B·H·W] ← gradOutput [B, F, outH, outW]
                            Threads.parallelFor(block.batch, costPerItem: k * plane) { images in
                                Scalar.im2col(gy + first * outImage, block, images: images, columns)
                            }
                            // features [C, B·H·W] ← input [B, C, H·W]
                            Scalar.batchMajorToFeatureMajor(
                                x + first * c * plane, features: c, batch: block.batch, plane: plane,
                                images: 0..<block.batch, features)
                            // weight.grad [C, F·kH·kW] (+)= features [C, B·H·W] · columnsᵀ [B·H·W, F·kH·kW]
                            Scalar.gemm(
                                transA: false, transB: true, m: c, n: k, k: n, alpha: 1,
                                a: features, lda: n, b: columns, ldb: n, beta: beta, c: gw, ldc: k)
                            beta = 1
                        }
                    }
                }
                // bias.grad [F] (+)= Σ over images and output positions of gradOutput [N, F, outH·outW]
                bias?.accumulateGrad { biasGrad, beta in
                    biasGrad.withUnsafeMutablePointer { gb in
                        Scalar.channelSums(
                            gy, channels: outChannels, plane: g.inputPlane, images: 0..<g.batch, gb,
                            accumulate: beta != 0)
                    }
                }
            }
        }
    }

    private func withBias<R>(_ body: (UnsafePointer<Scalar>?) -> R) -> R {
        if let bias { return bias.value.withUnsafePointer { body($0) } }
        return body(nil)
    }

    // MARK: blocks

    /// Images per block: as many as keep a block's columns `[F·kH·kW, B·H·W]` and its
    /// channel-major input `[C, B·H·W]` within about 1 MB.
    func blockImages(_ g: WindowGeometry) -> Int {
        let bytesPerImage = (g.columnRows + inChannels) * g.outputPlane * MemoryLayout<Scalar>.stride
        return Swift.max(1, Swift.min(g.batch, (1 << 20) / Swift.max(bytesPerImage, 1)))
    }

    /// Calls `body(block, first, columns, features)` for the blocks of the batch in order:
    /// `block` is the geometry of images `first..<first + block.batch` taken as a batch of
    /// their own, `columns` `[F·kH·kW, B·H·W]` and `features` `[C, B·H·W]` the work buffers.
    private func forEachBlock(
        _ g: WindowGeometry,
        _ body: (
            WindowGeometry, Int, UnsafeMutablePointer<Scalar>,
            UnsafeMutablePointer<Scalar>
        ) -> Void
    ) {
        let size = blockImages(g)
        reserve(&columns, g.columnRows * size * g.outputPlane)
        reserve(&features, inChannels * size * g.outputPlane)
        columns.withUnsafeMutableBufferPointer { columns in
            features.withUnsafeMutableBufferPointer { features in
                for first in Swift.stride(from: 0, to: g.batch, by: size) {
                    var block = g
                    block.batch = Swift.min(size, g.batch - first)
                    body(block, first, columns.baseAddress!, features.baseAddress!)
                }
            }
        }
    }
}
