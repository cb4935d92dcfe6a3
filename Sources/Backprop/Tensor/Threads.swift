import CKernels
import COpenBLAS
import Dispatch

/// The one setting for parallelism: how many threads OpenBLAS uses for GEMM and how many
/// the library's own parallel loops use. Set it once at start-up (`Threads.count = 1`
/// reproduces the single-core benchmark setting). Defaults to the `BACKPROP_THREADS`
/// environment variable if set, else to the number of cores.
///
/// The first use also asks the allocator to keep freed memory for reuse: a training step
/// frees and reallocates the same large buffers every time, and memory handed back to the
/// system would cost a page fault per 4 KiB on the next step.
public enum Threads {
    private static var current: Int = {
        let env = ProcessInfo.processInfo.environment["BACKPROP_THREADS"].flatMap(Int.init)
        let n = max(1, env ?? ProcessInfo.processInfo.activeProcessorCount)
        openblas_set_num_threads(Int32(n))
        bp_retain_freed_memory()
        return n
    }()

    /// Threads used by OpenBLAS and by `Threads.parallelFor`.
    public static var count: Int {
        get { current }
        set {
            precondition(newValue >= 1, "Threads.count: needs at least 1 thread, got \(newValue)")
            current = newValue
            openblas_set_num_threads(Int32(newValue))
        }
    }

    /// Runs `body(chunk)` for chunks of `0..<n`, on up to `count` threads when the work is
    /// large enough (`n * costPerItem` at least `minimumWork`), else inline.
    public static func parallelFor(_ n: Int, costPerItem: Int = 1, minimumWork: Int = 1 << 15,
                                   _ body: (Range<Int>) -> Void) {
        let threads = min(count, n)
        if threads <= 1 || n * costPerItem < minimumWork {
            if n > 0 { body(0..<n) }
            return
        }
        let chunk = (n + threads - 1) / threads
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            let lo = t * chunk, hi = min(n, lo + chunk)
            if lo < hi { body(lo..<hi) }
        }
    }

    /// Runs `body` with OpenBLAS limited to one thread, then gives it `count` threads again:
    /// for GEMMs that the library's own threads call at the same time, one per core.
    public static func withSingleThreadedBLAS<R>(_ body: () -> R) -> R {
        openblas_set_num_threads(1)
        defer { openblas_set_num_threads(Int32(count)) }
        return body()
    }
}

import Foundation
