import CKernels
import COpenBLAS
import Synchronization

/// The one setting for parallelism: how many threads the library uses, for its GEMMs and
/// for its own parallel loops. Set it once at start-up (`Threads.count = 1` reproduces the
/// single-core benchmark setting). Defaults to the `BACKPROP_THREADS` environment variable
/// if set, else to the number of cores.
///
/// OpenBLAS itself runs on one thread: the library splits large GEMMs over its own pool of
/// threads (`bp_pool_run` in Sources/CKernels/thread_pool.c), which also runs every
/// parallel loop. One pool for everything means no two thread pools compete for the same
/// cores: OpenBLAS's idle workers spin for about 0.1 s after each threaded call, and a
/// second pool's threads then have to fight them for the core.
///
/// The first use also asks the allocator to keep freed memory for reuse: a training step
/// frees and reallocates the same large buffers every time, and memory handed back to the
/// system would cost a page fault per 4 KiB on the next step.
public enum Threads {
    /// The setting, read on every parallel loop (a relaxed atomic load costs nothing).
    /// Its first use runs `setUp`, once, whichever thread gets there first.
    private static let current: Atomic<Int> = {
        setUp()
        let env = ProcessInfo.processInfo.environment["BACKPROP_THREADS"].flatMap(Int.init)
        return Atomic(max(1, env ?? ProcessInfo.processInfo.activeProcessorCount))
    }()

    /// One BLAS thread, and freed memory kept for reuse.
    private static func setUp() {
        openblas_set_num_threads(1)
        bp_retain_freed_memory()
    }

    /// Threads used by the library's GEMMs and by `Threads.parallelFor`.
    public static var count: Int {
        get { current.load(ordering: .relaxed) }
        set {
            require(newValue >= 1, "Threads.count: needs at least 1 thread, got \(newValue)")
            current.store(newValue, ordering: .relaxed)
        }
    }

    /// Runs `body(chunk)` for chunks of `0..<n`, on up to `count` threads when the work is
    /// large enough (`n * costPerItem` at least `minimumWork`), else inline. Called from
    /// inside another parallel loop, it runs inline.
    public static func parallelFor(
        _ n: Int, costPerItem: Int = 1, minimumWork: Int = 1 << 15,
        _ body: (Range<Int>) -> Void
    ) {
        let threads = min(count, n)
        if threads <= 1 || n * costPerItem < minimumWork {
            if n > 0 { body(0..<n) }
            return
        }
        let chunk = (n + threads - 1) / threads
        run(tasks: threads) { t in
            let lo = t * chunk, hi = min(n, lo + chunk)
            if lo < hi { body(lo..<hi) }
        }
    }

    /// Runs `body(i)` for every i in `0..<tasks` on up to `count` threads of the pool.
    static func run(tasks: Int, _ body: (Int) -> Void) {
        withoutActuallyEscaping(body) { body in
            var task = body
            withUnsafeMutablePointer(to: &task) { pointer in
                bp_pool_run(
                    tasks, Int32(count),
                    { context, i in
                        context!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(i)
                    }, pointer)
            }
        }
    }

    /// Splits the row-major GEMM C [m, n] = op(A) [m, k] · op(B) [k, n] into one part per
    /// thread along the larger of m and n, so that only the smaller operand is packed by
    /// every part, and calls `gemm(m, n, a, b, c)` for each part (on one BLAS thread).
    /// Small products, and calls from inside a parallel loop, stay whole.
    static func splitGEMM<S>(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        a: UnsafePointer<S>, lda: Int, b: UnsafePointer<S>, ldb: Int,
        c: UnsafeMutablePointer<S>, ldc: Int,
        _ gemm: (Int, Int, UnsafePointer<S>, UnsafePointer<S>, UnsafeMutablePointer<S>) -> Void
    ) {
        let threads = count
        let splitRows = m >= n
        let length = splitRows ? m : n
        // parts of at least 32 rows or columns, in multiples of 16 (the kernels' tile width)
        let parts = min(threads, length / 32)
        if parts <= 1 || 2 * m * n * k < 1 << 21 || bp_pool_in_task() != 0 {
            gemm(m, n, a, b, c)
            return
        }
        let step = ((length + parts - 1) / parts + 15) / 16 * 16
        run(tasks: parts) { p in
            let lo = p * step, size = min(length, lo + step) - lo
            guard size > 0 else { return }
            if splitRows {
                // rows lo..<lo+size of op(A) and C
                gemm(size, n, transA ? a + lo : a + lo * lda, b, c + lo * ldc)
            } else {
                // columns lo..<lo+size of op(B) and C
                gemm(m, size, a, transB ? b + lo * ldb : b + lo, c + lo)
            }
        }
    }
}

import Foundation
