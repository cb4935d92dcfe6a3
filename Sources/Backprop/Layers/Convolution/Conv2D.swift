import Foundation

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
/// columns and its feature-major product or gradient are small enough to stay in a core's
/// cache from the moment they are written to the moment the GEMM, the rearrangement or
/// col2im reads them. Whole-batch matrices would not (the columns of the second
/// convolution of a LeNet on 64 images are 10 MB) and cost more to move through memory
/// than the copies cost to compute; so grad unrolls its input again rather than keeping
/// fprop's columns. Only small per-block work buffers are kept between calls.
///
/// On several cores (`Threads.count`), each core runs the whole block pipeline — im2col,
/// a single-threaded GEMM, the rearrangement or col2im — on blocks of its own: blocks are
/// too small for a GEMM to gain from being split over cores, and the cores meet once per
/// call instead of several times per block. In fprop and bprop a core takes the next block
/// whenever it is free (a core slowed down by another program does fewer). In grad each
/// core sums the weight gradient of a fixed part of the batch into its own buffer, and the
/// parts' sums are added in order: results are reproducible for a given thread count (and
/// depend on it by rounding only).
///
/// The fast path of a ResNet's 3×3, stride-1, padding-1 convolutions (`Float` on AVX-512,
/// `hasDirectConvolution3x3`): the output has the input's size, and all three verbs are
/// computed straight from the NCHW planes, without columns or GEMM: fprop is a direct
/// convolution, bprop the direct convolution of gradOutput with the adjoint weights
/// (channels and filters swapped, the window turned by 180°, also 3×3 with padding 1), and
/// grad sums gradOutput times the shifted input planes. im2col would write nine copies of
/// the input for the GEMM to copy once more into its own layout; the direct kernels read
/// the planes from cache instead. Images are split over cores as above (grad: a fixed part
/// per core, summed in order). For fprop and bprop, whose vectors hold 16 pixels, planes
/// whose pixel count would leave much of them empty (7×7) are stacked: a part's images
/// laid one above the other in one plane per channel (`stacksImages`). grad's vectors hold
/// 16 filters instead, so any plane fills them.
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

    /// The work buffers of each part of the batch (one part per core), reused from call to call.
    var workspaces: [Workspace] = []
    /// The direct path's weights in its kernel's layout (fprop's or bprop's), packed each call.
    var packedWeight: [Scalar] = []

    /// One core's work buffers: a block's columns `[C·kH·kW, B·P]` (gradient columns in
    /// bprop) and feature-major `[F, B·P]` product (fprop) or gradOutput (grad, bprop); and
    /// in grad, the part's own sums for the weight gradient (when the batch is split) and
    /// the bias gradient.
    final class Workspace {
        var columns: [Scalar] = []
        var features: [Scalar] = []
        var weightGrad: [Scalar] = []
        var biasGrad: [Scalar] = []
        var rowSums: [Scalar] = []
    }

    /// A convolution `inChannels → outChannels` with a `kernelSize.0 × kernelSize.1` kernel.
    /// Weights (and the bias, for `.uniformFanIn`, as PyTorch does) are drawn by
    /// `initializer` with fanIn = C·kH·kW, from `rng`.
    public init(
        _ inChannels: Int, _ outChannels: Int, kernelSize: (Int, Int), stride: (Int, Int) = (1, 1),
        padding: (Int, Int) = (0, 0), bias: Bool = true, initializer: Initializer = .uniformFanIn,
        using rng: inout Random
    ) {
        require(
            inChannels > 0 && outChannels > 0,
            "Conv2D: channel counts must be positive, got \(inChannels) -> \(outChannels)")
        require(kernelSize.0 > 0 && kernelSize.1 > 0, "Conv2D: kernelSize must be positive, got \(kernelSize)")
        require(stride.0 > 0 && stride.1 > 0, "Conv2D: stride must be positive, got \(stride)")
        require(padding.0 >= 0 && padding.1 >= 0, "Conv2D: padding cannot be negative, got \(padding)")
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding
        let fanIn = inChannels * kernelSize.0 * kernelSize.1, fanOut = outChannels * kernelSize.0 * kernelSize.1
        (weight, self.bias) = convolutionParameters(
            weight: [outChannels, inChannels, kernelSize.0, kernelSize.1],
            bias: bias ? outChannels : nil, fanIn: fanIn, fanOut: fanOut,
            initializer: initializer, using: &rng)
    }

    /// Same, initialised from the global generator.
    public convenience init(
        _ inChannels: Int, _ outChannels: Int, kernelSize: (Int, Int), stride: (Int, Int) = (1, 1),
        padding: (Int, Int) = (0, 0), bias: Bool = true, initializer: Initializer = .uniformFanIn
    ) {
        self.init(
            inChannels, outChannels, kernelSize: kernelSize, stride: stride, padding: padding, bias: bias,
            initializer: initializer, using: &Random.global)
    }

    /// A square `kernelSize × kernelSize` kernel, the same stride and padding on both axes.
    public convenience init(
        _ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
        bias: Bool = true, initializer: Initializer = .uniformFanIn
    ) {
        self.init(
            inChannels, outChannels, kernelSize: (kernelSize, kernelSize), stride: (stride, stride),
            padding: (padding, padding), bias: bias, initializer: initializer, using: &Random.global)
    }

    public var description: String {
        var text = "Conv2D(\(inChannels) -> \(outChannels), \(kernelSize.height)x\(kernelSize.width)"
        if stride != (1, 1) {
            text += ", stride \(stride.height == stride.width ? "\(stride.height)" : "(\(stride.height), \(stride.width))")"
        }
        if padding != (0, 0) {
            text += ", padding \(padding.height == padding.width ? "\(padding.height)" : "(\(padding.height), \(padding.width))")"
        }
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
            throw ShapeError(
                "\(self): input \(inputShape) (padded to \(g.height + 2 * g.paddingHeight)x\(g.width + 2 * g.paddingWidth)) is smaller than the \(g.kernelHeight)x\(g.kernelWidth) kernel"
            )
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
        if Scalar.hasDirectConvolution3x3(g) {
            let output = direct(input, g, adjoint: false)
            if !isTraining { workspaces = []; packedWeight = [] }
            return output
        }
        let (f, k, plane) = (outChannels, g.columnRows, g.outputPlane)
        let output = input.withUnsafePointer { x in
            Tensor<Scalar>(shape: shape) { y in
                weight.value.withUnsafePointer { w in
                    withBias { bias in
                        forEachBlock(g, dynamic: true) { _, block, first, columns, features in
                            // columns [C·kH·kW, B·P] ← the block's images
                            Scalar.im2col(x + first * g.channels * g.inputPlane, block, images: 0..<block.batch, columns)
                            // product [F, B·P] = weight [F, C·kH·kW] · columns [C·kH·kW, B·P]
                            Scalar.gemm(
                                transA: false, transB: false, m: f, n: block.columnCount, k: k, alpha: 1,
                                a: w, lda: k, b: columns, ldb: block.columnCount,
                                beta: 0, c: features, ldc: block.columnCount)
                            // [F, B·P] (+ bias) → output [B, F, P]
                            Scalar.featureMajorToBatchMajor(
                                features, bias: bias, features: f, batch: block.batch, plane: plane,
                                images: 0..<block.batch, y + first * f * plane)
                        }
                    }
                }
            }
        }
        if !isTraining { workspaces = [] } // evaluation batches can be large, and no grad follows
        return output
    }

    // weight.grad [F, C·kH·kW] += gradOutput [F, N·P] · columnsᵀ [N·P, C·kH·kW]; bias.grad [F] += Σ_(n, p) gradOutput
    public func grad(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) {
        checkGradOutput(input, gradOutput)
        let g = geometry(input.shape)
        guard g.columnCount > 0 else { return }
        if Scalar.hasDirectConvolution3x3(g) { return directGrad(input, gradOutput, g) }
        let (f, k, plane) = (outChannels, g.columnRows, g.outputPlane)
        // Split over cores, each part sums into its own buffers (zeroed here), added in order at the end.
        let parts = parts(g), split = parts > 1
        prepareWorkspaces(parts)
        for space in workspaces.prefix(parts) {
            if split {
                reserve(&space.weightGrad, f * k);
                space.weightGrad.withUnsafeMutableBufferPointer { Scalar.fill($0.baseAddress!, 0, $0.count) }
            }
            if bias != nil { space.biasGrad = Array(repeating: 0, count: f); reserve(&space.rowSums, f) }
        }
        input.withUnsafePointer { x in
            gradOutput.withUnsafePointer { gy in
                weight.grad.withUnsafeMutablePointer { weightGrad in
                    forEachBlock(g, dynamic: false) { space, block, first, columns, features in
                        Scalar.im2col(x + first * g.channels * g.inputPlane, block, images: 0..<block.batch, columns)
                        // features [F, B·P] ← gradOutput [B, F, P]
                        Scalar.batchMajorToFeatureMajor(
                            gy + first * f * plane, features: f, batch: block.batch, plane: plane,
                            images: 0..<block.batch, features)
                        // (part's) weight.grad [F, C·kH·kW] += gradOutput [F, B·P] · columnsᵀ [B·P, C·kH·kW]
                        space.weightGrad.withUnsafeMutableBufferPointer { partial in
                            Scalar.gemm(
                                transA: false, transB: true, m: f, n: k, k: block.columnCount, alpha: 1,
                                a: features, lda: block.columnCount, b: columns, ldb: block.columnCount,
                                beta: 1, c: split ? partial.baseAddress! : weightGrad, ldc: k)
                        }
                        if bias != nil {
                            // (part's) bias.grad [F] += Σ over the block's images and positions
                            Scalar.rowSums(features, rows: f, cols: block.columnCount, &space.rowSums)
                            for i in 0..<f { space.biasGrad[i] += space.rowSums[i] }
                        }
                    }
                    if split {
                        for space in workspaces.prefix(parts) { Scalar.axpy(f * k, 1, space.weightGrad, weightGrad) }
                    }
                }
            }
        }
        if let bias {
            for space in workspaces.prefix(parts) { bias.grad.add(Tensor(shape: [f], scalars: space.biasGrad)) }
        }
    }

    // gradColumns [C·kH·kW, N·P] = weightᵀ · gradOutput [F, N·P]; col2im → gradInput [N, C, H, W]
    public func bprop(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) -> Tensor<Scalar> {
        checkGradOutput(input, gradOutput)
        let g = geometry(input.shape)
        guard g.columnCount > 0 else { return .zeros(input.shape) }
        if Scalar.hasDirectConvolution3x3(g) { return direct(gradOutput, g, adjoint: true) }
        let (f, k, plane) = (outChannels, g.columnRows, g.outputPlane)
        return gradOutput.withUnsafePointer { gy in
            weight.value.withUnsafePointer { w in
                Tensor<Scalar>(shape: input.shape) { gx in
                    forEachBlock(g, dynamic: true) { _, block, first, gradColumns, features in
                        // features [F, B·P] ← gradOutput [B, F, P]
                        Scalar.batchMajorToFeatureMajor(
                            gy + first * f * plane, features: f, batch: block.batch, plane: plane,
                            images: 0..<block.batch, features)
                        // gradColumns [C·kH·kW, B·P] = weightᵀ [C·kH·kW, F] · gradOutput [F, B·P]
                        Scalar.gemm(
                            transA: true, transB: false, m: k, n: block.columnCount, k: f, alpha: 1,
                            a: w, lda: k, b: features, ldb: block.columnCount,
                            beta: 0, c: gradColumns, ldc: block.columnCount)
                        // gradColumns → gradInput [B, C, H, W]
                        Scalar.col2im(gradColumns, block, images: 0..<block.batch, gx + first * g.channels * g.inputPlane)
                    }
                }
            }
        }
    }

    // MARK: parts and blocks

    /// Parts the batch is cut into, one per core: as many as `Threads.count`, each of at
    /// least two images and 128K multiply-adds (below that, a second core costs more than it saves).
    func parts(_ g: WindowGeometry) -> Int {
        let perImage = g.columnRows * g.outputPlane * outChannels // multiply-adds of one image
        return Swift.max(1, Swift.min(Threads.count, g.batch, g.batch * perImage / Swift.max(1 << 17, 2 * perImage)))
    }

    /// Images per block: as many as keep a block's columns and feature-major matrix within
    /// about 1 MB (the size of a core's L2 cache on current x86 machines).
    func blockImages(_ g: WindowGeometry) -> Int {
        let bytesPerImage = (g.columnRows + outChannels) * g.outputPlane * MemoryLayout<Scalar>.stride
        return Swift.max(1, Swift.min(g.batch, (1 << 20) / Swift.max(bytesPerImage, 1)))
    }

    func prepareWorkspaces(_ parts: Int) {
        while workspaces.count < parts { workspaces.append(Workspace()) }
    }

    /// Calls `body(workspace, block, first, columns, features)` for the blocks of the batch:
    /// `block` is the geometry of images `first..<first + block.batch` taken as a batch of
    /// their own, `columns` and `features` the workspace's buffers (`[C·kH·kW, B·P]`,
    /// `[F, B·P]`). With several parts, one core per part runs blocks with its own workspace
    /// and single-threaded GEMMs: any block (`dynamic`), or its own part's blocks in order.
    private func forEachBlock(
        _ g: WindowGeometry, dynamic: Bool,
        _ body: (
            Workspace, WindowGeometry, Int,
            UnsafeMutablePointer<Scalar>, UnsafeMutablePointer<Scalar>
        ) -> Void
    ) {
        let parts = parts(g), size = blockImages(g)
        prepareWorkspaces(parts)
        for space in workspaces.prefix(parts) {
            reserve(&space.columns, g.columnRows * size * g.outputPlane)
            reserve(&space.features, outChannels * size * g.outputPlane)
        }
        let spaces = workspaces
        // the blocks: each part's images cut into blocks of `size` (a part's last block may be smaller)
        var blocks: [(first: Int, count: Int, part: Int)] = []
        for part in 0..<parts {
            let images = (g.batch * part / parts)..<(g.batch * (part + 1) / parts)
            for first in Swift.stride(from: images.lowerBound, to: images.upperBound, by: size) {
                blocks.append((first, Swift.min(size, images.upperBound - first), part))
            }
        }
        // Workers take the blocks in turn (`next`): with `dynamic`, any block, so that a core
        // slowed down by another program does fewer; else only their own part's, in order.
        let lock = NSLock()
        var next = 0
        func run(_ worker: Int) {
            let space = spaces[worker]
            space.columns.withUnsafeMutableBufferPointer { columns in
                space.features.withUnsafeMutableBufferPointer { features in
                    if !dynamic {
                        for b in blocks where b.part == worker {
                            var block = g
                            block.batch = b.count
                            body(space, block, b.first, columns.baseAddress!, features.baseAddress!)
                        }
                        return
                    }
                    while true {
                        lock.lock()
                        let index = next
                        next += 1
                        lock.unlock()
                        guard index < blocks.count else { return }
                        var block = g
                        block.batch = blocks[index].count
                        body(space, block, blocks[index].first, columns.baseAddress!, features.baseAddress!)
                    }
                }
            }
        }
        if parts == 1 {
            run(0)
        } else {
            Threads.parallelFor(parts, minimumWork: 0) { range in range.forEach(run) } // GEMMs in a part stay whole
        }
    }

    func withBias<R>(_ body: (UnsafePointer<Scalar>?) -> R) -> R {
        if let bias { return bias.value.withUnsafePointer { body($0) } }
        return body(nil)
    }
}

/// Makes `buffer` hold at least `count` elements, reallocating (uninitialised) only when it
/// is too small: work buffers that every use overwrites.
func reserve<Scalar>(_ buffer: inout [Scalar], _ count: Int) {
    if buffer.count < count {
        buffer = [] // free the old one first
        buffer = Array(unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
    }
}

/// A convolution's weight (drawn by `initializer`) and optional bias of `bias` channels:
/// PyTorch's rule, the bias uniform in ±1/√fanIn with the default initializer and zeros
/// with any other. Drawn in that order from `rng`. Conv2D and ConvTranspose2D share it
/// (they differ in the weight's layout and in which channel count is the fan-in).
func convolutionParameters<Scalar: TensorScalar>(
    weight shape: [Int], bias: Int?, fanIn: Int, fanOut: Int,
    initializer: Initializer, using rng: inout Random
)
    -> (weight: Parameter<Scalar>, bias: Parameter<Scalar>?)
{
    let weight = Parameter<Scalar>(initializer.make(shape, fanIn: fanIn, fanOut: fanOut, using: &rng))
    let bias = bias.map { channels in
        Parameter<Scalar>(
            initializer == .uniformFanIn
                ? Initializer.uniformFanIn.make([channels], fanIn: fanIn, fanOut: fanOut, using: &rng)
                : .zeros([channels]),
            decays: false)
    }
    return (weight, bias)
}
