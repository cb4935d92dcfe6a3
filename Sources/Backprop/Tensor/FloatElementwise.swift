import CKernels

/// `Float`'s exp, sigmoid and tanh kernels: vectorised C loops (Sources/CKernels) compiled
/// for AVX-512, AVX2 and the baseline, picked for the CPU at load time, and split over
/// threads for large tensors. Element-wise transcendental functions are a real cost next
/// to GEMM at these sizes (an autoencoder step evaluates half a million sigmoids).
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

/// `Float`'s LSTM step kernels: the same arithmetic as the generic ones in
/// `RecurrentKernels`, as vectorised C (sigmoid and tanh of the gates dominate an LSTM
/// step after its GEMMs).
extension Float {
    public static func lstmForwardStep(gates: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, cellPrev: UnsafePointer<Float>,
                                       cell: UnsafeMutablePointer<Float>, tanhCell: UnsafeMutablePointer<Float>,
                                       hidden: UnsafeMutablePointer<Float>, batch: Int, hiddenSize h: Int) {
        // split over the batch (rows are independent) only for large steps: below 64K gate
        // units the wake-up of a second thread costs more than it saves
        Threads.parallelFor(batch, costPerItem: 4 * h, minimumWork: 1 << 16) { r in
            let o = r.lowerBound
            bp_lstm_forward_f32(gates + o * 4 * h, bias, cellPrev + o * h, cell + o * h, tanhCell + o * h,
                                hidden + o * h, r.count, h)
        }
    }

    public static func lstmBackwardStep(gates: UnsafePointer<Float>, cellPrev: UnsafePointer<Float>,
                                        tanhCell: UnsafePointer<Float>, gradOutput: UnsafePointer<Float>,
                                        gradHidden: UnsafePointer<Float>, gradCell: UnsafeMutablePointer<Float>,
                                        gradGates: UnsafeMutablePointer<Float>, batch: Int, hiddenSize h: Int) {
        Threads.parallelFor(batch, costPerItem: 4 * h, minimumWork: 1 << 16) { r in
            let o = r.lowerBound
            bp_lstm_backward_f32(gates + o * 4 * h, cellPrev + o * h, tanhCell + o * h, gradOutput + o * h,
                                 gradHidden + o * h, gradCell + o * h, gradGates + o * 4 * h, r.count, h)
        }
    }
}

/// `Float`'s optimizer updates: one fused, vectorised C pass per parameter (same arithmetic
/// as the generic `sgdStep` and `adamStep`), split over threads for large parameters.
extension Float {
    public static func sgdStep(_ w: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ v: UnsafeMutablePointer<Float>, _ n: Int,
                               lr: Float, momentum: Float, l2: Float, l1: Float, nesterov: Bool) {
        forEachChunk(n) { r in
            let o = r.lowerBound
            bp_sgd_f32(w + o, g + o, v + o, r.count, lr, momentum, l2, l1, nesterov ? 1 : 0)
        }
    }

    public static func adamStep(_ w: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ m: UnsafeMutablePointer<Float>,
                                _ v: UnsafeMutablePointer<Float>, _ n: Int, lr: Float, beta1: Float, beta2: Float,
                                epsilon: Float, l2: Float, correction1: Float, correction2: Float) {
        forEachChunk(n) { r in
            let o = r.lowerBound
            bp_adam_f32(w + o, g + o, m + o, v + o, r.count, lr, beta1, beta2, epsilon, l2, correction1, correction2)
        }
    }
}
