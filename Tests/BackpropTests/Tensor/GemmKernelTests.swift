@testable import Backprop
import CKernels
import XCTest

/// bp_sgemm (CKernels' AVX-512 SGEMM, behind `Float.gemm`) against a Double reference loop
/// on random matrices: the four transpose combinations, sizes on both sides of the
/// micro-tile's 14 rows and 16/32 columns (1, 2, 15, 16, 17, 31, 33, 100, 257) and of the
/// cache blocks (k of 1000+, m over one row block), leading dimensions wider than the rows
/// (the padding must stay untouched), beta 0 over a NaN-filled C, beta 1 and 0.5, alpha −2.
/// The same cases through the cblas_sgemm fallback (bp_sgemm_set_avx512(0)) check the
/// reference itself.
final class GemmKernelTests: XCTestCase {
    /// (m, n, k): each listed size as m, as n and as k, and a few larger products.
    private let shapes: [(Int, Int, Int)] = {
        let sizes = [1, 2, 15, 16, 17, 31, 33, 100, 257]
        var shapes: [(Int, Int, Int)] = []
        for (i, s) in sizes.enumerated() {
            let other = sizes[(i + 4) % sizes.count], third = sizes[(i + 7) % sizes.count]
            shapes += [(s, min(other, 33), min(third, 31)), (min(other, 17), s, min(third, 33)), (min(other, 15), min(third, 31), s)]
        }
        // k over several cache blocks, m over several row blocks, n over several column blocks
        return shapes + [(17, 33, 1029), (28, 64, 300), (350, 17, 20), (3, 2100, 5)]
    }()

    /// (alpha, beta); beta 0 runs over a C filled with NaN.
    private let scalings: [(Float, Float)] = [(1, 0), (1, 1), (-2, 0.5)]

    private func check(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float, beta: Float, pad: Int, rng: inout Random)
        -> Bool
    {
        // a [m, k] (or [k, m] if transA), b [k, n] (or [n, k] if transB), c [m, n], rows `pad` wider
        let lda = (transA ? m : k) + pad, ldb = (transB ? k : n) + pad, ldc = n + pad
        let a = (0..<((transA ? k : m) * lda)).map { _ in Float(2 * rng.nextUnit() - 1) }
        let b = (0..<((transB ? n : k) * ldb)).map { _ in Float(2 * rng.nextUnit() - 1) }
        let c0 = (0..<(m * ldc)).map { j in beta == 0 ? (j % ldc < n ? Float.nan : 7) : Float(2 * rng.nextUnit() - 1) }
        var c = c0
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in
                    bp_sgemm(
                        transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, a.baseAddress!, lda, b.baseAddress!, ldb, beta,
                        c.baseAddress!, ldc)
                }
            }
        }
        // Float sums of k products: a few ulps of the sum of |terms| times √k
        let tolerance = 4 * Double(Float.ulpOfOne) * Double(k).squareRoot()
        var failures = 0
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                // op(A)[i][p] = a[i · ars + p · acs], op(B)[p][j] = b[p · brs + j · bcs]
                let (ars, acs) = transA ? (1, lda) : (lda, 1), (brs, bcs) = transB ? (1, ldb) : (ldb, 1)
                for i in 0..<m {
                    for j in 0..<ldc {
                        let got = c[i * ldc + j]
                        if j >= n {
                            if got != c0[i * ldc + j] { failures += 1 } // the padding is not C
                            continue
                        }
                        var sum = 0.0, magnitude = 0.0
                        var pa = i * ars, pb = j * bcs
                        for _ in 0..<k {
                            let term = Double(a[pa]) * Double(b[pb])
                            sum += term
                            magnitude += abs(term)
                            pa += acs
                            pb += brs
                        }
                        let old = beta == 0 ? 0 : Double(beta) * Double(c0[i * ldc + j])
                        let want = Double(alpha) * sum + old
                        let bound = tolerance * (abs(Double(alpha)) * magnitude + abs(old)) + 1e-30
                        if !(abs(Double(got) - want) <= bound) {
                            if failures < 3 { print("  [\(i), \(j)] = \(got), want \(want) ± \(bound)") }
                            failures += 1
                        }
                    }
                }
            }
        }
        if failures > 0 {
            print(
                "bp_sgemm transA=\(transA) transB=\(transB) m=\(m) n=\(n) k=\(k) alpha=\(alpha) beta=\(beta) pad=\(pad): \(failures) wrong")
        }
        return failures == 0
    }

    /// Every `stride`-th shape, in the four transpose combinations.
    private func checkAll(_ label: String, stride: Int = 1) {
        var rng = Random(seed: 17)
        var failed = 0, total = 0
        for transA in [false, true] {
            for transB in [false, true] {
                for (index, (m, n, k)) in shapes.enumerated() where index % stride == 0 {
                    let (alpha, beta) = scalings[index % scalings.count]
                    let pad = index % 2 == 0 ? 0 : 1 + index % 5
                    total += 1
                    if !check(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, beta: beta, pad: pad, rng: &rng) {
                        failed += 1
                    }
                }
            }
        }
        XCTAssertEqual(failed, 0, "\(label): \(failed) of \(total) products wrong")
    }

    func testAgainstDoubleReference() {
        checkAll(bp_sgemm_uses_avx512() != 0 ? "AVX-512 kernel" : "cblas_sgemm (no AVX-512 on this CPU)")
    }

    func testFallbackAgainstDoubleReference() {
        bp_sgemm_set_avx512(0)
        defer { bp_sgemm_set_avx512(1) }
        XCTAssertEqual(bp_sgemm_uses_avx512(), 0)
        checkAll("cblas_sgemm fallback", stride: 3)
    }

    /// A product cut into row or column parts (as `Threads.splitGEMM` cuts it) gives the same
    /// bits as the whole: each element's sum runs in an order fixed by k alone (the AVX-512
    /// kernel's promise; OpenBLAS makes none).
    func testPartsGiveTheWholeBitForBit() throws {
        try XCTSkipIf(bp_sgemm_uses_avx512() == 0, "no AVX-512: bp_sgemm is cblas_sgemm")
        var rng = Random(seed: 5)
        let m = 45, n = 70, k = 300, rowCut = 16, columnCut = 32
        let a = (0..<(m * k)).map { _ in Float(2 * rng.nextUnit() - 1) }, b = (0..<(k * n)).map { _ in Float(2 * rng.nextUnit() - 1) }
        for transA in [false, true] {
            for transB in [false, true] {
                // a [m, k] (or [k, m] if transA), b [k, n] (or [n, k] if transB), c [m, n]
                let lda = transA ? m : k, ldb = transB ? k : n
                var whole = [Float](repeating: 0, count: m * n), rows = whole, columns = whole
                a.withUnsafeBufferPointer { a in
                    b.withUnsafeBufferPointer { b in
                        let a = a.baseAddress!, b = b.baseAddress!, ta: Int32 = transA ? 1 : 0, tb: Int32 = transB ? 1 : 0
                        bp_sgemm(ta, tb, m, n, k, 1, a, lda, b, ldb, 0, &whole, n)
                        rows.withUnsafeMutableBufferPointer { c in
                            bp_sgemm(ta, tb, rowCut, n, k, 1, a, lda, b, ldb, 0, c.baseAddress!, n)
                            bp_sgemm(
                                ta, tb, m - rowCut, n, k, 1, transA ? a + rowCut : a + rowCut * lda, lda, b, ldb, 0,
                                c.baseAddress! + rowCut * n, n)
                        }
                        columns.withUnsafeMutableBufferPointer { c in
                            bp_sgemm(ta, tb, m, columnCut, k, 1, a, lda, b, ldb, 0, c.baseAddress!, n)
                            bp_sgemm(
                                ta, tb, m, n - columnCut, k, 1, a, lda, transB ? b + columnCut * ldb : b + columnCut, ldb, 0,
                                c.baseAddress! + columnCut, n)
                        }
                    }
                }
                XCTAssertEqual(rows, whole, "transA=\(transA) transB=\(transB): rows")
                XCTAssertEqual(columns, whole, "transA=\(transA) transB=\(transB): columns")
            }
        }
    }

    /// k = 0 and alpha = 0 only scale C by beta (beta 0: zeros, even over NaN); m or n 0 writes nothing.
    func testDegenerateProducts() {
        let a: [Float] = [1, 2, 3, 4], b: [Float] = [5, 6, 7, 8]
        for (k, alpha) in [(0, Float(1)), (2, Float(0))] {
            var c: [Float] = [.nan, .nan, .nan, .nan]
            bp_sgemm(0, 0, 2, 2, k, alpha, a, 2, b, 2, 0, &c, 2)
            XCTAssertEqual(c, [0, 0, 0, 0])
            c = [1, 2, 3, 4]
            bp_sgemm(0, 0, 2, 2, k, alpha, a, 2, b, 2, 0.5, &c, 2)
            XCTAssertEqual(c, [0.5, 1, 1.5, 2])
        }
        var c: [Float] = [9]
        bp_sgemm(0, 0, 0, 1, 2, 1, a, 2, b, 1, 0, &c, 1)
        bp_sgemm(0, 0, 1, 0, 2, 1, a, 2, b, 1, 0, &c, 1)
        XCTAssertEqual(c, [9])
    }
}
