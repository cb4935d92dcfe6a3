import Backprop
import Foundation
import XCTest

/// The library's own thread pool: parallel loops and GEMMs split over threads.
final class ThreadsTests: XCTestCase {
    func withThreads(_ n: Int, _ body: () -> Void) {
        let saved = Threads.count
        Threads.count = n
        defer { Threads.count = saved }
        body()
    }

    /// Every index exactly once, for many sizes and thread counts, nested loops included.
    func testParallelForCoversEveryIndexOnce() {
        for threads in [1, 2, 3, 5] {
            withThreads(threads) {
                for n in [0, 1, 2, 7, 100, 1000] {
                    var hits = [Int](repeating: 0, count: n)
                    hits.withUnsafeMutableBufferPointer { h in
                        Threads.parallelFor(n, minimumWork: 0) { range in
                            for i in range {
                                h[i] += 1
                                // a nested loop (inline inside a pool task) covers its indices too
                                var inner = [Int](repeating: 0, count: 3)
                                inner.withUnsafeMutableBufferPointer { m in
                                    Threads.parallelFor(3, minimumWork: 0) { r in for j in r { m[j] += 1 } }
                                }
                                if inner != [1, 1, 1] { h[i] = -1000 }
                            }
                        }
                    }
                    XCTAssertEqual(hits, [Int](repeating: 1, count: n), "\(threads) threads, n = \(n)")
                }
            }
        }
    }

    /// Runs that alternate between more and fewer threads: a worker left out of one run
    /// must neither join it nor miss the next one it belongs to.
    func testAlternatingThreadCountsKeepEveryRunWhole() {
        let saved = Threads.count
        defer { Threads.count = saved }
        for round in 0..<300 {
            Threads.count = round % 2 == 0 ? 3 : 2
            var hits = [Int](repeating: 0, count: 7)
            hits.withUnsafeMutableBufferPointer { h in
                Threads.parallelFor(7, minimumWork: 0) { range in for i in range { h[i] += 1 } }
            }
            if hits != [Int](repeating: 1, count: 7) {
                XCTFail("round \(round), \(Threads.count) threads: indices hit \(hits)")
                return
            }
        }
    }

    /// Two user threads using the library at once: one gets the pool, the other runs inline.
    func testConcurrentCallersBothFinish() {
        withThreads(2) {
            let group = DispatchGroup()
            final class Results: @unchecked Sendable {
                let lock = NSLock()
                var sums = [Int](repeating: 0, count: 4)
            }
            let results = Results()
            for caller in 0..<4 {
                DispatchQueue.global().async(group: group) {
                    var total = 0
                    for _ in 0..<200 {
                        var partial = [Int](repeating: 0, count: 2)
                        partial.withUnsafeMutableBufferPointer { p in
                            Threads.parallelFor(2, minimumWork: 0) { r in for i in r { p[i] = (i + 1) * 1000 } }
                        }
                        total += partial.reduce(0, +)
                    }
                    results.lock.lock(); results.sums[caller] = total; results.lock.unlock()
                }
            }
            XCTAssertEqual(group.wait(timeout: .now() + 60), .success, "parallel loops from several threads deadlocked")
            XCTAssertEqual(results.sums, [Int](repeating: 200 * 3000, count: 4))
        }
    }

    /// A GEMM split over threads (by rows or by columns, in all four transpose cases, with
    /// sizes that do not divide evenly) gives the single-thread result, and the right one.
    func testSplitGEMMMatchesOneThread() {
        Random.global = Random(seed: testSeed())
        for (m, n, k) in [(301, 97, 65), (70, 333, 129), (3, 2000, 300), (257, 257, 31)] {
            for transA in [false, true] {
                for transB in [false, true] {
                    let a = Tensor<Float>.uniform(transA ? [k, m] : [m, k], in: -1...1)
                    let b = Tensor<Float>.uniform(transB ? [n, k] : [k, n], in: -1...1)
                    let c0 = Tensor<Float>.uniform([m, n], in: -1...1)
                    var results: [Tensor<Float>] = []
                    for threads in [1, 2, 3] {
                        withThreads(threads) {
                            var c = c0
                            Tensor.gemm(a, b, transposeA: transA, transposeB: transB, alpha: 0.5, beta: 0.25, into: &c)
                            results.append(c)
                        }
                    }
                    let label = "[\(m), \(k)]\(transA ? "ᵀ" : "") · [\(k), \(n)]\(transB ? "ᵀ" : "")"
                    // each part may take another OpenBLAS kernel (small-matrix paths): equal to rounding
                    for t in 1...2 {
                        let worst = zip(results[t].scalars, results[0].scalars).map { abs(Double($0) - Double($1)) }.max() ?? 0
                        XCTAssertLessThanOrEqual(worst, 1e-5 * Double(k), "\(label): \(t + 1) threads differ from 1 by \(worst)")
                    }
                    // and the product is right
                    let reference = naiveProduct(a, b, transA, transB, m, n, k)
                    for i in 0..<(m * n) {
                        let expected = 0.5 * reference[i] + 0.25 * Double(c0.scalars[i])
                        XCTAssertEqual(Double(results[0].scalars[i]), expected, accuracy: 1e-4 * Double(k), "\(label) at \(i)")
                        if abs(Double(results[0].scalars[i]) - expected) > 1e-4 * Double(k) { return }
                    }
                }
            }
        }
    }

    func naiveProduct(_ a: Tensor<Float>, _ b: Tensor<Float>, _ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int) -> [Double] {
        let x = a.scalars, y = b.scalars
        var out = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k {
                    s += Double(transA ? x[p * m + i] : x[i * k + p]) * Double(transB ? y[j * k + p] : y[p * n + j])
                }
                out[i * n + j] = s
            }
        }
        return out
    }
}
