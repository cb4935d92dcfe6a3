import CKernels
import COpenBLAS
import Foundation

/// The scalar types a `Tensor` can hold: `Float` (for speed) and `Double` (for gradient checks).
///
/// Every loop that touches tensor elements is a static requirement of this protocol, so
/// generic layer code pays one dynamic call per *kernel*, never per element: the loops
/// themselves are compiled once for `Float` and once for `Double`. The BLAS entry points
/// and the three transcendental primitives are written per type; the element-wise kernels
/// have default implementations below, which the compiler specializes into each
/// conformance's witness table.
///
/// Pointer arguments follow BLAS conventions: `n` elements, row-major matrices
/// `[rows, cols]`, outputs may alias inputs unless stated otherwise.
public protocol TensorScalar: BinaryFloatingPoint, Codable, Sendable,
    AxisKernels, ConversionKernels, RandomKernels, // Tensor/
    ConvolutionKernels, NormalizationKernels, RecurrentKernels, // Layers/<Family>/
    AutoencoderKernels, SymmetricEigenKernels,
    SamplingKernels, AdversarialKernels, OptimizerKernels, // Training/, Optimizers/
    AugmentationKernels, SkipGramKernels // Data/, Layers/Recurrent/
where RawSignificand: FixedWidthInteger {
    // MARK: BLAS (per type)

    /// C[m, n] = alpha · op(A)[m, k] · op(B)[k, n] + beta · C, row-major (Float: CKernels'
    /// AVX-512 SGEMM, or CBLAS without AVX-512; Double: CBLAS).
    static func gemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Self,
        a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
        beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)
    /// y += alpha · x
    static func axpy(_ n: Int, _ alpha: Self, _ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>)
    /// x · y
    static func dot(_ n: Int, _ x: UnsafePointer<Self>, _ y: UnsafePointer<Self>) -> Self
    /// x *= alpha
    static func scal(_ n: Int, _ alpha: Self, _ x: UnsafeMutablePointer<Self>)

    // MARK: primitives (per type)

    static func exp(_ x: Self) -> Self
    static func log(_ x: Self) -> Self
    static func tanh(_ x: Self) -> Self
    static func log1p(_ x: Self) -> Self
    /// Name used in descriptions and checkpoints ("F32", "F64").
    static var dtypeName: String { get }

    // MARK: element-wise kernels (default implementations below)

    /// dst[i] = src[i]
    static func copy(_ src: UnsafePointer<Self>, _ dst: UnsafeMutablePointer<Self>, _ n: Int)
    /// dst[i] = value
    static func fill(_ dst: UnsafeMutablePointer<Self>, _ value: Self, _ n: Int)
    /// dst[i] = Self(bytes[i]) · scale (pixels to scalars)
    static func fromBytes(_ bytes: UnsafePointer<UInt8>, _ dst: UnsafeMutablePointer<Self>, _ n: Int, scale: Self)

    static func add(_ a: UnsafePointer<Self>, _ b: UnsafePointer<Self>, _ out: UnsafeMutablePointer<Self>, _ n: Int)
    static func sub(_ a: UnsafePointer<Self>, _ b: UnsafePointer<Self>, _ out: UnsafeMutablePointer<Self>, _ n: Int)
    static func mul(_ a: UnsafePointer<Self>, _ b: UnsafePointer<Self>, _ out: UnsafeMutablePointer<Self>, _ n: Int)
    static func div(_ a: UnsafePointer<Self>, _ b: UnsafePointer<Self>, _ out: UnsafeMutablePointer<Self>, _ n: Int)
    /// out = a · scale + shift
    static func affine(_ a: UnsafePointer<Self>, _ scale: Self, _ shift: Self, _ out: UnsafeMutablePointer<Self>, _ n: Int)
    static func sum(_ a: UnsafePointer<Self>, _ n: Int) -> Self
    static func sumOfSquares(_ a: UnsafePointer<Self>, _ n: Int) -> Self
    static func maxAbs(_ a: UnsafePointer<Self>, _ n: Int) -> Self

    /// x [rows, cols] += v [cols] on every row (bias broadcast over the last axis).
    static func addRowVector(_ x: UnsafeMutablePointer<Self>, _ v: UnsafePointer<Self>, rows: Int, cols: Int)
    /// out [cols] (+)= Σ_rows x [rows, cols]; accumulates when `accumulate` is true.
    static func columnSums(_ x: UnsafePointer<Self>, rows: Int, cols: Int, _ out: UnsafeMutablePointer<Self>, accumulate: Bool)
    /// out [rows] = Σ_cols x [rows, cols]
    static func rowSums(_ x: UnsafePointer<Self>, rows: Int, cols: Int, _ out: UnsafeMutablePointer<Self>)
    /// Index of the largest element of each row of x [rows, cols] (first one on ties).
    static func argmaxRows(_ x: UnsafePointer<Self>, rows: Int, cols: Int) -> [Int]

    // activations: forward y = f(x); backward gx = gy · f'(·), from x or from y as noted
    static func relu(_ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>, _ n: Int, slope: Self)
    /// gx = gy where x > 0, gy · slope elsewhere (uses the input x)
    static func reluBackward(_ x: UnsafePointer<Self>, _ gy: UnsafePointer<Self>, _ gx: UnsafeMutablePointer<Self>, _ n: Int, slope: Self)
    static func sigmoid(_ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>, _ n: Int)
    /// gx = gy · y (1 − y) (uses the output y)
    static func sigmoidBackward(_ y: UnsafePointer<Self>, _ gy: UnsafePointer<Self>, _ gx: UnsafeMutablePointer<Self>, _ n: Int)
    static func tanh(_ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>, _ n: Int)
    /// gx = gy · (1 − y²) (uses the output y)
    static func tanhBackward(_ y: UnsafePointer<Self>, _ gy: UnsafePointer<Self>, _ gx: UnsafeMutablePointer<Self>, _ n: Int)
    /// y = log(1 + eˣ), computed without overflow
    static func softplus(_ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>, _ n: Int)
    static func exp(_ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>, _ n: Int)
    static func log(_ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>, _ n: Int)

    /// Row-wise softmax of x [rows, cols] (max subtracted first).
    static func softmaxRows(_ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>, rows: Int, cols: Int)
    /// Row-wise log-softmax of x [rows, cols]: x − max − log Σ exp(x − max).
    static func logSoftmaxRows(_ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>, rows: Int, cols: Int)
    /// gx = y ⊙ (gy − Σ_row gy ⊙ y), for y = softmax(x)
    static func softmaxBackwardRows(
        _ y: UnsafePointer<Self>, _ gy: UnsafePointer<Self>, _ gx: UnsafeMutablePointer<Self>, rows: Int, cols: Int)
    /// gx = gy − exp(y) · Σ_row gy, for y = logSoftmax(x)
    static func logSoftmaxBackwardRows(
        _ y: UnsafePointer<Self>, _ gy: UnsafePointer<Self>, _ gx: UnsafeMutablePointer<Self>, rows: Int, cols: Int)

    // losses
    /// Σ −[t log p + (1 − t) log(1 − p)], each log clamped at −100 (as PyTorch does).
    static func binaryCrossEntropy(_ p: UnsafePointer<Self>, _ t: UnsafePointer<Self>, _ n: Int) -> Self
    /// g = scale · (p − t) / max(p (1 − p), 1e-12)
    static func binaryCrossEntropyBackward(
        _ p: UnsafePointer<Self>, _ t: UnsafePointer<Self>, _ g: UnsafeMutablePointer<Self>, _ n: Int, scale: Self)
    /// Σ max(x, 0) − x t + log(1 + e^−|x|): binary cross-entropy of σ(x), without overflow.
    static func binaryCrossEntropyWithLogits(_ x: UnsafePointer<Self>, _ t: UnsafePointer<Self>, _ n: Int) -> Self
}

// MARK: - Float and Double: BLAS and primitives

extension Float: TensorScalar {
    public static func gemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        if GemmTrace.isRecording { GemmTrace.record(transA, transB, m, n, k, beta) }
        Threads.splitGEMM(transA: transA, transB: transB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc) {
            m, n, a, b, c in
            // CKernels' AVX-512 SGEMM (gemm.c); cblas_sgemm on CPUs without AVX-512
            bp_sgemm(transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
        }
    }
    public static func axpy(_ n: Int, _ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
        cblas_saxpy(Int32(n), alpha, x, 1, y, 1)
    }
    public static func dot(_ n: Int, _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>) -> Float {
        cblas_sdot(Int32(n), x, 1, y, 1)
    }
    public static func scal(_ n: Int, _ alpha: Float, _ x: UnsafeMutablePointer<Float>) {
        cblas_sscal(Int32(n), alpha, x, 1)
    }
    @inline(__always) public static func exp(_ x: Float) -> Float { Foundation.expf(x) }
    @inline(__always) public static func log(_ x: Float) -> Float { Foundation.logf(x) }
    @inline(__always) public static func tanh(_ x: Float) -> Float { Foundation.tanhf(x) }
    @inline(__always) public static func log1p(_ x: Float) -> Float { Foundation.log1pf(x) }
    public static var dtypeName: String { "F32" }
}

extension Double: TensorScalar {
    public static func gemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Double,
        a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
        beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int
    ) {
        if GemmTrace.isRecording { GemmTrace.record(transA, transB, m, n, k, beta) }
        Threads.splitGEMM(transA: transA, transB: transB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc) {
            m, n, a, b, c in
            cblas_dgemm(
                CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
        }
    }
    public static func axpy(_ n: Int, _ alpha: Double, _ x: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>) {
        cblas_daxpy(Int32(n), alpha, x, 1, y, 1)
    }
    public static func dot(_ n: Int, _ x: UnsafePointer<Double>, _ y: UnsafePointer<Double>) -> Double {
        cblas_ddot(Int32(n), x, 1, y, 1)
    }
    public static func scal(_ n: Int, _ alpha: Double, _ x: UnsafeMutablePointer<Double>) {
        cblas_dscal(Int32(n), alpha, x, 1)
    }
    @inline(__always) public static func exp(_ x: Double) -> Double { Foundation.exp(x) }
    @inline(__always) public static func log(_ x: Double) -> Double { Foundation.log(x) }
    @inline(__always) public static func tanh(_ x: Double) -> Double { Foundation.tanh(x) }
    @inline(__always) public static func log1p(_ x: Double) -> Double { Foundation.log1p(x) }
    public static var dtypeName: String { "F64" }
}

// MARK: - Element-wise kernels, written once, specialized per conformance

extension TensorScalar {
    /// Runs `body` over chunks of 0..<n, on several threads when n is large (see `Threads`).
    @inline(__always)
    public static func forEachChunk(_ n: Int, _ body: (Range<Int>) -> Void) {
        Threads.parallelFor(n, minimumWork: 1 << 16, body)
    }
    public static func fromBytes(_ bytes: UnsafePointer<UInt8>, _ dst: UnsafeMutablePointer<Self>, _ n: Int, scale: Self) {
        for i in 0..<n { dst[i] = Self(bytes[i]) * scale }
    }
    public static func copy(_ src: UnsafePointer<Self>, _ dst: UnsafeMutablePointer<Self>, _ n: Int) {
        forEachChunk(n) { r in for i in r { dst[i] = src[i] } }
    }
    public static func fill(_ dst: UnsafeMutablePointer<Self>, _ value: Self, _ n: Int) {
        forEachChunk(n) { r in for i in r { dst[i] = value } }
    }
    public static func add(_ a: UnsafePointer<Self>, _ b: UnsafePointer<Self>, _ out: UnsafeMutablePointer<Self>, _ n: Int) {
        forEachChunk(n) { r in for i in r { out[i] = a[i] + b[i] } }
    }
    public static func sub(_ a: UnsafePointer<Self>, _ b: UnsafePointer<Self>, _ out: UnsafeMutablePointer<Self>, _ n: Int) {
        forEachChunk(n) { r in for i in r { out[i] = a[i] - b[i] } }
    }
    public static func mul(_ a: UnsafePointer<Self>, _ b: UnsafePointer<Self>, _ out: UnsafeMutablePointer<Self>, _ n: Int) {
        forEachChunk(n) { r in for i in r { out[i] = a[i] * b[i] } }
    }
    public static func div(_ a: UnsafePointer<Self>, _ b: UnsafePointer<Self>, _ out: UnsafeMutablePointer<Self>, _ n: Int) {
        forEachChunk(n) { r in for i in r { out[i] = a[i] / b[i] } }
    }
    public static func affine(_ a: UnsafePointer<Self>, _ scale: Self, _ shift: Self, _ out: UnsafeMutablePointer<Self>, _ n: Int) {
        forEachChunk(n) { r in for i in r { out[i] = a[i] * scale + shift } }
    }
    public static func sum(_ a: UnsafePointer<Self>, _ n: Int) -> Self {
        // Four partial sums: vectorizes, and rounds better than one running sum.
        var s0: Self = 0, s1: Self = 0, s2: Self = 0, s3: Self = 0
        var i = 0
        while i + 4 <= n { s0 += a[i]; s1 += a[i + 1]; s2 += a[i + 2]; s3 += a[i + 3]; i += 4 }
        while i < n { s0 += a[i]; i += 1 }
        return (s0 + s1) + (s2 + s3)
    }
    public static func sumOfSquares(_ a: UnsafePointer<Self>, _ n: Int) -> Self { dot(n, a, a) }
    public static func maxAbs(_ a: UnsafePointer<Self>, _ n: Int) -> Self {
        var m: Self = 0
        for i in 0..<n { m = Swift.max(m, Swift.abs(a[i])) }
        return m
    }

    public static func addRowVector(_ x: UnsafeMutablePointer<Self>, _ v: UnsafePointer<Self>, rows: Int, cols: Int) {
        for r in 0..<rows {
            let row = x + r * cols
            for c in 0..<cols { row[c] += v[c] }
        }
    }
    public static func columnSums(_ x: UnsafePointer<Self>, rows: Int, cols: Int, _ out: UnsafeMutablePointer<Self>, accumulate: Bool) {
        if !accumulate { fill(out, 0, cols) }
        for r in 0..<rows {
            let row = x + r * cols
            for c in 0..<cols { out[c] += row[c] }
        }
    }
    public static func rowSums(_ x: UnsafePointer<Self>, rows: Int, cols: Int, _ out: UnsafeMutablePointer<Self>) {
        for r in 0..<rows { out[r] = sum(x + r * cols, cols) }
    }
    public static func argmaxRows(_ x: UnsafePointer<Self>, rows: Int, cols: Int) -> [Int] {
        (0..<rows).map { r in
            let row = x + r * cols
            var best = 0
            for c in 1..<Swift.max(cols, 1) where row[c] > row[best] { best = c }
            return best
        }
    }

    public static func relu(_ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>, _ n: Int, slope: Self) {
        if slope == 0 {
            forEachChunk(n) { r in for i in r { y[i] = x[i] > 0 ? x[i] : 0 } }
        } else {
            forEachChunk(n) { r in for i in r { y[i] = x[i] > 0 ? x[i] : x[i] * slope } }
        }
    }
    public static func reluBackward(
        _ x: UnsafePointer<Self>, _ gy: UnsafePointer<Self>, _ gx: UnsafeMutablePointer<Self>, _ n: Int, slope: Self
    ) {
        forEachChunk(n) { r in for i in r { gx[i] = x[i] > 0 ? gy[i] : gy[i] * slope } }
    }
    public static func sigmoid(_ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>, _ n: Int) {
        // σ(x) = 1 / (1 + e⁻ˣ); for very negative x, e⁻ˣ overflows to +inf and σ → 0, as it should.
        forEachChunk(n) { r in for i in r { y[i] = 1 / (1 + exp(-x[i])) } }
    }
    public static func sigmoidBackward(_ y: UnsafePointer<Self>, _ gy: UnsafePointer<Self>, _ gx: UnsafeMutablePointer<Self>, _ n: Int) {
        forEachChunk(n) { r in for i in r { gx[i] = gy[i] * y[i] * (1 - y[i]) } }
    }
    public static func tanh(_ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>, _ n: Int) {
        forEachChunk(n) { r in for i in r { y[i] = tanh(x[i]) } }
    }
    public static func tanhBackward(_ y: UnsafePointer<Self>, _ gy: UnsafePointer<Self>, _ gx: UnsafeMutablePointer<Self>, _ n: Int) {
        forEachChunk(n) { r in for i in r { gx[i] = gy[i] * (1 - y[i] * y[i]) } }
    }
    public static func softplus(_ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>, _ n: Int) {
        // log(1 + eˣ) = max(x, 0) + log(1 + e^−|x|)
        forEachChunk(n) { r in for i in r { y[i] = Swift.max(x[i], 0) + log1p(exp(-Swift.abs(x[i]))) } }
    }
    public static func exp(_ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>, _ n: Int) {
        forEachChunk(n) { r in for i in r { y[i] = exp(x[i]) } }
    }
    public static func log(_ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>, _ n: Int) {
        forEachChunk(n) { r in for i in r { y[i] = log(x[i]) } }
    }

    public static func softmaxRows(_ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>, rows: Int, cols: Int) {
        for r in 0..<rows {
            let xr = x + r * cols, yr = y + r * cols
            var m = -Self.infinity
            for c in 0..<cols { m = Swift.max(m, xr[c]) }
            var total: Self = 0
            for c in 0..<cols { let e = exp(xr[c] - m); yr[c] = e; total += e }
            let inv = 1 / total
            for c in 0..<cols { yr[c] *= inv }
        }
    }
    public static func logSoftmaxRows(_ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>, rows: Int, cols: Int) {
        for r in 0..<rows {
            let xr = x + r * cols, yr = y + r * cols
            var m = -Self.infinity
            for c in 0..<cols { m = Swift.max(m, xr[c]) }
            var total: Self = 0
            for c in 0..<cols { total += exp(xr[c] - m) }
            let shift = m + log(total)
            for c in 0..<cols { yr[c] = xr[c] - shift }
        }
    }
    public static func softmaxBackwardRows(
        _ y: UnsafePointer<Self>, _ gy: UnsafePointer<Self>, _ gx: UnsafeMutablePointer<Self>, rows: Int, cols: Int
    ) {
        for r in 0..<rows {
            let o = r * cols
            let inner = dot(cols, gy + o, y + o)
            for c in 0..<cols { gx[o + c] = y[o + c] * (gy[o + c] - inner) }
        }
    }
    public static func logSoftmaxBackwardRows(
        _ y: UnsafePointer<Self>, _ gy: UnsafePointer<Self>, _ gx: UnsafeMutablePointer<Self>, rows: Int, cols: Int
    ) {
        for r in 0..<rows {
            let o = r * cols
            let total = sum(gy + o, cols)
            for c in 0..<cols { gx[o + c] = gy[o + c] - exp(y[o + c]) * total }
        }
    }

    public static func binaryCrossEntropy(_ p: UnsafePointer<Self>, _ t: UnsafePointer<Self>, _ n: Int) -> Self {
        var total: Self = 0
        for i in 0..<n {
            let logP = Swift.max(log(p[i]), -100), logQ = Swift.max(log(1 - p[i]), -100)
            total -= t[i] * logP + (1 - t[i]) * logQ
        }
        return total
    }
    public static func binaryCrossEntropyBackward(
        _ p: UnsafePointer<Self>, _ t: UnsafePointer<Self>, _ g: UnsafeMutablePointer<Self>, _ n: Int, scale: Self
    ) {
        forEachChunk(n) { r in for i in r { g[i] = scale * (p[i] - t[i]) / Swift.max(p[i] * (1 - p[i]), 1e-12) } }
    }
    public static func binaryCrossEntropyWithLogits(_ x: UnsafePointer<Self>, _ t: UnsafePointer<Self>, _ n: Int) -> Self {
        var total: Self = 0
        for i in 0..<n { total += Swift.max(x[i], 0) - x[i] * t[i] + log1p(exp(-Swift.abs(x[i]))) }
        return total
    }
}
