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
/// of a matrix `[C·kH·kW, N·outH·outW]`; the whole batch's convolution is then one GEMM,
/// weight `[F, C·kH·kW]` × columns. The three verbs are three GEMMs:
///
/// - fprop: product `[F, N·P]` = W · columns, then rearranged to `[N, F, P]` (plus the bias);
/// - grad:  W.grad += gradOutput `[F, N·P]` · columnsᵀ, and bias.grad += its row sums;
/// - bprop: gradColumns = Wᵀ · gradOutput, then col2im adds each column back onto the
///          pixels it was read from.
///
/// The columns of the last `fprop` are kept for `grad` (in training mode), and the work
/// buffers are reused from step to step. im2col, col2im and the rearrangements are split
/// over the batch on `Threads.count` cores; the GEMMs use OpenBLAS's threads.
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

    /// im2col of the last fprop's input, `[C·kH·kW, N·outH·outW]`, valid while
    /// `columnsShape` is that input's shape (bprop reuses the buffer for its gradient).
    private var columns: [Scalar] = []
    private var columnsShape: [Int]?
    /// A `[F, N·outH·outW]` work matrix: the product in fprop, the gradient in grad and bprop.
    private var featureMajor: [Scalar] = []

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
        let (f, k, cols) = (outChannels, g.columnRows, g.columnCount)
        unroll(input, g)
        reserve(&featureMajor, f * cols)
        // product [F, N·P] = weight [F, C·kH·kW] · columns [C·kH·kW, N·P]
        weight.value.withUnsafePointer { w in
            columns.withUnsafeBufferPointer { c in
                featureMajor.withUnsafeMutableBufferPointer { p in
                    Scalar.gemm(transA: false, transB: false, m: f, n: cols, k: k, alpha: 1, a: w, lda: k,
                                b: c.baseAddress!, ldb: cols, beta: 0, c: p.baseAddress!, ldc: cols)
                }
            }
        }
        // [F, N·P] (+ bias) → [N, F, P]
        let output = featureMajor.withUnsafeBufferPointer { p in
            Tensor<Scalar>(shape: shape) { y in
                withBias { b in
                    Threads.parallelFor(g.batch, costPerItem: f * g.outputPlane) { images in
                        Scalar.featureMajorToBatchMajor(p.baseAddress!, bias: b, features: f, batch: g.batch,
                                                        plane: g.outputPlane, images: images, y)
                    }
                }
            }
        }
        if !isTraining {
            // evaluation batches can be large: do not hold on to their work buffers
            columns = []
            columnsShape = nil
            featureMajor = []
        }
        return output
    }

    // weight.grad [F, C·kH·kW] += gradOutput [F, N·P] · columnsᵀ [N·P, C·kH·kW]; bias.grad [F] += Σ_(n, p) gradOutput
    public func grad(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) {
        checkGradOutput(input, gradOutput)
        let g = geometry(input.shape)
        guard g.columnCount > 0 else { return }
        let (f, k, cols) = (outChannels, g.columnRows, g.columnCount)
        if columnsShape != input.shape { unroll(input, g) }
        loadFeatureMajor(gradOutput, g)
        columns.withUnsafeBufferPointer { c in
            featureMajor.withUnsafeBufferPointer { gy in
                weight.grad.withUnsafeMutablePointer { gw in
                    Scalar.gemm(transA: false, transB: true, m: f, n: k, k: cols, alpha: 1, a: gy.baseAddress!, lda: cols,
                                b: c.baseAddress!, ldb: cols, beta: 1, c: gw, ldc: k)
                }
            }
        }
        if let bias {
            let sums = featureMajor.withUnsafeBufferPointer { gy in
                Tensor<Scalar>(shape: [f]) { Scalar.rowSums(gy.baseAddress!, rows: f, cols: cols, $0) }
            }
            bias.grad.add(sums)
        }
    }

    // gradColumns [C·kH·kW, N·P] = weightᵀ · gradOutput [F, N·P]; col2im → gradInput [N, C, H, W]
    public func bprop(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) -> Tensor<Scalar> {
        checkGradOutput(input, gradOutput)
        let g = geometry(input.shape)
        guard g.columnCount > 0 else { return .zeros(input.shape) }
        let (f, k, cols) = (outChannels, g.columnRows, g.columnCount)
        loadFeatureMajor(gradOutput, g)
        reserve(&columns, k * cols)
        columnsShape = nil                                     // the buffer now holds gradient columns
        weight.value.withUnsafePointer { w in
            featureMajor.withUnsafeBufferPointer { gy in
                columns.withUnsafeMutableBufferPointer { gc in
                    Scalar.gemm(transA: true, transB: false, m: k, n: cols, k: f, alpha: 1, a: w, lda: k,
                                b: gy.baseAddress!, ldb: cols, beta: 0, c: gc.baseAddress!, ldc: cols)
                }
            }
        }
        return columns.withUnsafeBufferPointer { gc in
            Tensor<Scalar>(shape: input.shape) { gx in
                Threads.parallelFor(g.batch, costPerItem: k * g.outputPlane) { images in
                    Scalar.col2im(gc.baseAddress!, g, images: images, gx)
                }
            }
        }
    }

    // MARK: work buffers

    /// columns [C·kH·kW, N·P] ← im2col(input), split over the batch.
    private func unroll(_ input: Tensor<Scalar>, _ g: WindowGeometry) {
        reserve(&columns, g.columnRows * g.columnCount)
        input.withUnsafePointer { x in
            columns.withUnsafeMutableBufferPointer { c in
                Threads.parallelFor(g.batch, costPerItem: g.columnRows * g.outputPlane) { images in
                    Scalar.im2col(x, g, images: images, c.baseAddress!)
                }
            }
        }
        columnsShape = input.shape
    }

    /// featureMajor [F, N·P] ← gradOutput [N, F, P], split over the batch.
    private func loadFeatureMajor(_ gradOutput: Tensor<Scalar>, _ g: WindowGeometry) {
        let f = outChannels
        reserve(&featureMajor, f * g.columnCount)
        gradOutput.withUnsafePointer { gy in
            featureMajor.withUnsafeMutableBufferPointer { p in
                Threads.parallelFor(g.batch, costPerItem: f * g.outputPlane) { images in
                    Scalar.batchMajorToFeatureMajor(gy, features: f, batch: g.batch, plane: g.outputPlane,
                                                    images: images, p.baseAddress!)
                }
            }
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
