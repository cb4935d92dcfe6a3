/// A 2-D convolution over a batch of images in PyTorch's layouts: input `[N, C, H, W]`,
/// weight `[F, C, kH, kW]`, optional bias `[F]`, output `[N, F, outH, outW]` with
/// `outH = (H + 2·padding.height − kH) / stride.height + 1` (and likewise for the width).
///
/// ```swift
/// let conv = Conv2D<Float>(1, 16, kernelSize: 5)                          // 5×5, stride 1, no padding
/// let wide = Conv2D<Float>(16, 32, kernelSize: (3, 5), stride: (2, 2), padding: (1, 2))
/// ```
///
/// How it is computed (im2col): every window of every image is unrolled into one column
/// of a matrix `[C·kH·kW, N·outH·outW]`; the convolution is then a GEMM,
/// weight `[F, C·kH·kW]` × columns. The three verbs are GEMMs:
///
/// - fprop: product `[F, N·P]` = W · columns, then rearranged to `[N, F, P]` (plus the bias);
/// - grad:  W.grad += gradOutput `[F, N·P]` · columnsᵀ, and bias.grad += its row sums;
/// - bprop: gradColumns = Wᵀ · gradOutput, then col2im adds each column back onto the
///          pixels it was read from.
///
/// Each verb goes through the batch in blocks of a few images (`blockImages`): a block's
/// columns and its feature-major product or gradient are small enough to stay in the
/// cores' caches from the moment they are written to the moment the GEMM, the
/// rearrangement or col2im reads them. Whole-batch matrices would not (the columns of the
/// second convolution of a LeNet on 64 images are 10 MB) and cost more to move through
/// memory than the copies cost to compute; so grad unrolls its input again rather than
/// keeping fprop's columns. Only small per-block work buffers are kept between calls.
/// im2col, col2im and the rearrangements are split over the block's images on
/// `Threads.count` cores; the GEMMs use OpenBLAS's threads.
public final class Conv2D<Scalar: TensorScalar>: Layer {
    /// `[F, C, kH, kW]`
    public let weight: Parameter<Scalar>
    /// `[F]`, or nil for a convolution without bias.
    public let bias: Parameter<Scalar>?
    /// C, the channels of the input.
    public let inChannels: Int
    /// F, the channels of the output (the number of filters).
    public let outChannels: Int
    public let kernelSize: (height: Int, width: Int)
    public let stride: (height: Int, width: Int)
    /// Zeros added on both sides of each axis.
    public let padding: (height: Int, width: Int)
    /// In evaluation mode the work buffers are released after each `fprop` (evaluation
    /// batches can be large, and no `grad` follows).
    public var isTraining = true

    /// Work buffers of one block of B images, reused from call to call: its columns
    /// `[C·kH·kW, B·P]` (gradient columns in bprop), and its feature-major `[F, B·P]`
    /// product (fprop) or gradOutput (grad, bprop).
    private var blockColumns: [Scalar] = []
    private var blockFeatures: [Scalar] = []

    /// A convolution `inChannels → outChannels` with a `kernelSize.0 × kernelSize.1` kernel.
    /// Weights (and the bias, for `.uniformFanIn`, as PyTorch does) are drawn by
    /// `initializer` with fanIn = C·kH·kW, from `rng`.
    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: (Int, Int), stride: (Int, Int) = (1, 1),
                padding: (Int, Int) = (0, 0), bias: Bool = true, initializer: Initializer = .uniformFanIn,
                using rng: inout Random) {
        precondition(inChannels > 0 && outChannels > 0,
                     "Conv2D: channel counts must be positive, got \(inChannels) -> \(outChannels)")
        precondition(kernelSize.0 > 0 && kernelSize.1 > 0, "Conv2D: kernelSize must be positive, got \(kernelSize)")
        precondition(stride.0 > 0 && stride.1 > 0, "Conv2D: stride must be positive, got \(stride)")
        precondition(padding.0 >= 0 && padding.1 >= 0, "Conv2D: padding cannot be negative, got \(padding)")
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding
        let fanIn = inChannels * kernelSize.0 * kernelSize.1, fanOut = outChannels * kernelSize.0 * kernelSize.1
        weight = Parameter(initializer.make([outChannels, inChannels, kernelSize.0, kernelSize.1],
                                            fanIn: fanIn, fanOut: fanOut, using: &rng))
        self.bias = bias ? Parameter(
            initializer == .uniformFanIn
                ? Initializer.uniformFanIn.make([outChannels], fanIn: fanIn, fanOut: fanOut, using: &rng)
                : .zeros([outChannels]),
            decays: false) : nil
    }

    /// Same, initialised from the global generator.
    public convenience init(_ inChannels: Int, _ outChannels: Int, kernelSize: (Int, Int), stride: (Int, Int) = (1, 1),
                            padding: (Int, Int) = (0, 0), bias: Bool = true, initializer: Initializer = .uniformFanIn) {
        self.init(inChannels, outChannels, kernelSize: kernelSize, stride: stride, padding: padding, bias: bias,
                  initializer: initializer, using: &Random.global)
    }

    /// A square `kernelSize × kernelSize` kernel, the same stride and padding on both axes.
    public convenience init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                            bias: Bool = true, initializer: Initializer = .uniformFanIn) {
        self.init(inChannels, outChannels, kernelSize: (kernelSize, kernelSize), stride: (stride, stride),
                  padding: (padding, padding), bias: bias, initializer: initializer, using: &Random.global)
    }

    public var description: String {
        var text = "Conv2D(\(inChannels) -> \(outChannels), \(kernelSize.height)x\(kernelSize.width)"
        if stride != (1, 1) { text += ", stride \(stride.height == stride.width ? "\(stride.height)" : "(\(stride.height), \(stride.width))")" }
        if padding != (0, 0) { text += ", padding \(padding.height == padding.width ? "\(padding.height)" : "(\(padding.height), \(padding.width))")" }
        return text + (bias == nil ? ", no bias)" : ")")
    }

    public var namedParameters: [(name: String, parameter: Parameter<Scalar>)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }

    public func outputShape(for inputShape: [Int]) throws -> [Int] {
        guard inputShape.count == 4, inputShape[1] == inChannels else {
            throw ShapeError("\(self) expects input [N, \(inChannels), H, W], got \(inputShape)")
        }
        let g = geometry(inputShape)
        guard g.height + 2 * g.paddingHeight >= g.kernelHeight, g.width + 2 * g.paddingWidth >= g.kernelWidth else {
            throw ShapeError("\(self): input \(inputShape) (padded to \(g.height + 2 * g.paddingHeight)x\(g.width + 2 * g.paddingWidth)) is smaller than the \(g.kernelHeight)x\(g.kernelWidth) kernel")
        }
        return [g.batch, outChannels, g.outputHeight, g.outputWidth]
    }

    func geometry(_ inputShape: [Int]) -> WindowGeometry {
        WindowGeometry(input: inputShape, kernel: kernelSize, stride: stride, padding: padding)
    }

    // input [N, C, H, W], weight [F, C, kH, kW] → output [N, F, outH, outW]
    public func fprop(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
        let shape = checkedOutputShape(input.shape)
        let g = geometry(input.shape)
        guard g.columnCount > 0 else { return Tensor(uninitialized: shape) }
        let (f, k, plane) = (outChannels, g.columnRows, g.outputPlane)
        let output = input.withUnsafePointer { x in
            Tensor<Scalar>(shape: shape) { y in
                weight.value.withUnsafePointer { w in
                    withBias { bias in
                        forEachBlock(g) { block, first, columns, features in
                            unroll(x + first * g.channels * g.inputPlane, block, columns)
                            // product [F, B·P] = weight [F, C·kH·kW] · columns [C·kH·kW, B·P]
                            Scalar.gemm(transA: false, transB: false, m: f, n: block.columnCount, k: k, alpha: 1,
                                        a: w, lda: k, b: columns, ldb: block.columnCount,
                                        beta: 0, c: features, ldc: block.columnCount)
                            // [F, B·P] (+ bias) → [B, F, P]
                            Threads.parallelFor(block.batch, costPerItem: f * plane) { images in
                                Scalar.featureMajorToBatchMajor(features, bias: bias, features: f, batch: block.batch,
                                                                plane: plane, images: images, y + first * f * plane)
                            }
                        }
                    }
                }
            }
        }
        if !isTraining {
            // evaluation batches can be large: do not hold on to their work buffers
            blockColumns = []
            blockFeatures = []
        }
        return output
    }

    // weight.grad [F, C·kH·kW] += gradOutput [F, N·P] · columnsᵀ [N·P, C·kH·kW]; bias.grad [F] += Σ_(n, p) gradOutput
    public func grad(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) {
        checkGradOutput(input, gradOutput)
        let g = geometry(input.shape)
        guard g.columnCount > 0 else { return }
        let (f, k) = (outChannels, g.columnRows)
        var biasSums = [Scalar](repeating: 0, count: bias == nil ? 0 : f)   // Σ over the blocks
        var blockSums = biasSums
        input.withUnsafePointer { x in
            gradOutput.withUnsafePointer { gy in
                weight.grad.withUnsafeMutablePointer { gw in
                    forEachBlock(g) { block, first, columns, features in
                        unroll(x + first * g.channels * g.inputPlane, block, columns)
                        loadFeatureMajor(gy + first * f * g.outputPlane, block, features)
                        // weight.grad [F, C·kH·kW] += gradOutput [F, B·P] · columnsᵀ [B·P, C·kH·kW]
                        Scalar.gemm(transA: false, transB: true, m: f, n: k, k: block.columnCount, alpha: 1,
                                    a: features, lda: block.columnCount, b: columns, ldb: block.columnCount,
                                    beta: 1, c: gw, ldc: k)
                        if !biasSums.isEmpty {
                            // bias.grad [F] += Σ over the block's images and positions
                            Scalar.rowSums(features, rows: f, cols: block.columnCount, &blockSums)
                            for i in 0..<f { biasSums[i] += blockSums[i] }
                        }
                    }
                }
            }
        }
        if let bias { bias.grad.add(Tensor(shape: [f], scalars: biasSums)) }
    }

    // gradColumns [C·kH·kW, N·P] = weightᵀ · gradOutput [F, N·P]; col2im → gradInput [N, C, H, W]
    public func bprop(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) -> Tensor<Scalar> {
        checkGradOutput(input, gradOutput)
        let g = geometry(input.shape)
        guard g.columnCount > 0 else { return .zeros(input.shape) }
        let (f, k) = (outChannels, g.columnRows)
        return gradOutput.withUnsafePointer { gy in
            weight.value.withUnsafePointer { w in
                Tensor<Scalar>(shape: input.shape) { gx in
                    forEachBlock(g) { block, first, gradColumns, features in
                        loadFeatureMajor(gy + first * f * g.outputPlane, block, features)
                        // gradColumns [C·kH·kW, B·P] = weightᵀ [C·kH·kW, F] · gradOutput [F, B·P]
                        Scalar.gemm(transA: true, transB: false, m: k, n: block.columnCount, k: f, alpha: 1,
                                    a: w, lda: k, b: features, ldb: block.columnCount,
                                    beta: 0, c: gradColumns, ldc: block.columnCount)
                        // gradColumns → gradInput [B, C, H, W]
                        Threads.parallelFor(block.batch, costPerItem: k * g.outputPlane) { images in
                            Scalar.col2im(gradColumns, block, images: images, gx + first * g.channels * g.inputPlane)
                        }
                    }
                }
            }
        }
    }

    // MARK: blocks

    /// Images per block: as many as keep a block's columns and feature-major matrix within
    /// about 1 MB per core (the size of a core's L2 cache on current x86 machines); the
    /// cores share each block's copies.
    func blockImages(_ g: WindowGeometry) -> Int {
        let bytesPerImage = (g.columnRows + outChannels) * g.outputPlane * MemoryLayout<Scalar>.stride
        let budget = (1 << 20) * Swift.max(Threads.count, 1)
        return Swift.max(1, Swift.min(g.batch, budget / Swift.max(bytesPerImage, 1)))
    }

    /// Calls `body(block, first, columns, features)` for the blocks of the batch in order:
    /// `block` is the geometry of images `first..<first + block.batch` taken as a batch of
    /// their own, `columns` and `features` the work buffers (`[C·kH·kW, B·P]`, `[F, B·P]`).
    private func forEachBlock(_ g: WindowGeometry,
                              _ body: (WindowGeometry, Int, UnsafeMutablePointer<Scalar>, UnsafeMutablePointer<Scalar>) -> Void) {
        let size = blockImages(g)
        reserve(&blockColumns, g.columnRows * size * g.outputPlane)
        reserve(&blockFeatures, outChannels * size * g.outputPlane)
        blockColumns.withUnsafeMutableBufferPointer { columns in
            blockFeatures.withUnsafeMutableBufferPointer { features in
                for first in Swift.stride(from: 0, to: g.batch, by: size) {
                    var block = g
                    block.batch = Swift.min(size, g.batch - first)
                    body(block, first, columns.baseAddress!, features.baseAddress!)
                }
            }
        }
    }

    /// columns [C·kH·kW, B·P] ← im2col(x [B, C, H, W]), split over the images.
    private func unroll(_ x: UnsafePointer<Scalar>, _ block: WindowGeometry, _ columns: UnsafeMutablePointer<Scalar>) {
        Threads.parallelFor(block.batch, costPerItem: block.columnRows * block.outputPlane) { images in
            Scalar.im2col(x, block, images: images, columns)
        }
    }

    /// features [F, B·P] ← gradOutput [B, F, P], split over the images.
    private func loadFeatureMajor(_ gy: UnsafePointer<Scalar>, _ block: WindowGeometry, _ features: UnsafeMutablePointer<Scalar>) {
        let f = outChannels
        Threads.parallelFor(block.batch, costPerItem: f * block.outputPlane) { images in
            Scalar.batchMajorToFeatureMajor(gy, features: f, batch: block.batch, plane: block.outputPlane,
                                            images: images, features)
        }
    }

    private func withBias<R>(_ body: (UnsafePointer<Scalar>?) -> R) -> R {
        if let bias { return bias.value.withUnsafePointer { body($0) } }
        return body(nil)
    }
}

/// Makes `buffer` hold at least `count` elements, reallocating (uninitialised) only when it
/// is too small: work buffers that every use overwrites.
func reserve<Scalar>(_ buffer: inout [Scalar], _ count: Int) {
    if buffer.count < count {
        buffer = []                                            // free the old one first
        buffer = Array(unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
    }
}
