import CKernels

/// `Float`'s exp, sigmoid and tanh kernels: vectorised C loops (Sources/CKernels) compiled
/// for AVX-512, AVX2 and the baseline, picked for the CPU at load time, and split over
/// threads for large tensors: element-wise transcendental functions are a real cost next
/// to GEMM at these sizes.
/// `Double` keeps libm: it serves gradient checks, where exactness matters more than speed.
extension Float {
    public static func exp(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        forEachChunk(n) { r in bp_exp_f32(x + r.lowerBound, y + r.lowerBound, r.count) }
    }
    public static func sigmoid(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        forEachChunk(n) { r in bp_sigmoid_f32(x + r.lowerBound, y + r.lowerBound, r.count) }
    }
    public static func tanh(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        forEachChunk(n) { r in bp_tanh_f32(x + r.lowerBound, y + r.lowerBound, r.count) }
    }
}

/// `Float`'s ReLU and row sums (bias gradients): C loops (Sources/CKernels/activations.c);
/// the row sums may differ from the generic ones by rounding (another summation order).
extension Float {
    public static func relu(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int, slope: Float) {
        // x [n] → y [n]
        forEachChunk(n) { r in bp_relu_f32(x + r.lowerBound, y + r.lowerBound, r.count, slope) }
    }

    public static func reluBackward(
        _ x: UnsafePointer<Float>, _ gy: UnsafePointer<Float>, _ gx: UnsafeMutablePointer<Float>,
        _ n: Int, slope: Float
    ) {
        // x, gy [n] → gx [n]
        forEachChunk(n) { r in bp_relu_backward_f32(x + r.lowerBound, gy + r.lowerBound, gx + r.lowerBound, r.count, slope) }
    }

    public static func rowSums(_ x: UnsafePointer<Float>, rows: Int, cols: Int, _ out: UnsafeMutablePointer<Float>) {
        // x [rows, cols] → out [rows]
        bp_row_sums_f32(x, rows, cols, out)
    }
}
