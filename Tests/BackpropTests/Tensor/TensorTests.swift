@testable import Backprop
import XCTest

final class TensorTests: XCTestCase {
    func testCreationAndShape() {
        let t = Tensor<Float>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(t.rank, 2)
        XCTAssertEqual(t.count, 6)
        XCTAssertEqual(t[1, 2], 6)
        XCTAssertEqual(Tensor<Double>.zeros([2, 2]).scalars, [0, 0, 0, 0])
        XCTAssertEqual(Tensor<Double>.ones([3]).scalars, [1, 1, 1])
        XCTAssertEqual(Tensor<Float>(repeating: 7, shape: [2]).scalars, [7, 7])
        XCTAssertEqual(Tensor<Float>(rows: [[1, 2], [3, 4]]).shape, [2, 2])
        XCTAssertEqual(t.reshaped([3, -1]).shape, [3, 2])
        XCTAssertEqual(t.reshaped([6]).scalars, t.scalars)
        XCTAssertEqual(t.matrixShape.rows, 2)
        XCTAssertEqual(Tensor<Float>.zeros([2, 3, 4]).matrixShape.rows, 6)
    }

    func testCopyOnWrite() {
        var a = Tensor<Float>(shape: [2], scalars: [1, 2])
        let b = a
        a[0] = 10
        XCTAssertEqual(b[0], 1, "a copy must not see writes to the original")
        XCTAssertEqual(a[0], 10)
    }

    func testRowsAndGather() {
        let t = Tensor<Double>(shape: [3, 2], scalars: [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(t[rows: 1..<3].scalars, [3, 4, 5, 6])
        XCTAssertEqual(t[rows: 1..<3].shape, [2, 2])
        XCTAssertEqual(t.gathering(rows: [2, 0]).scalars, [5, 6, 1, 2])
    }

    func testArithmeticAndBroadcast() {
        let a = Tensor<Double>(shape: [2, 2], scalars: [1, 2, 3, 4])
        let b = Tensor<Double>(shape: [2, 2], scalars: [4, 3, 2, 1])
        XCTAssertEqual((a + b).scalars, [5, 5, 5, 5])
        XCTAssertEqual((a - b).scalars, [-3, -1, 1, 3])
        XCTAssertEqual((a * b).scalars, [4, 6, 6, 4])
        XCTAssertEqual((a / b).scalars, [0.25, 2.0 / 3, 1.5, 4])
        XCTAssertEqual((a * 2).scalars, [2, 4, 6, 8])
        XCTAssertEqual((a + 1).scalars, [2, 3, 4, 5])
        XCTAssertEqual((10 - a).scalars, [9, 8, 7, 6])
        XCTAssertEqual((-a).scalars, [-1, -2, -3, -4])
        XCTAssertEqual(a.addingRowVector(Tensor([10, 20])).scalars, [11, 22, 13, 24])
        var c = a
        c += b
        c.add(a, scaledBy: -2)
        XCTAssertEqual(c.scalars, [3, 1, -1, -3])
    }

    func testReductions() {
        let t = Tensor<Double>(shape: [2, 3], scalars: [1, 5, 3, 4, 2, 6])
        XCTAssertEqual(t.sum(), 21)
        XCTAssertEqual(t.mean(), 3.5)
        XCTAssertEqual(t.sum(alongAxis: 0).scalars, [5, 7, 9])
        XCTAssertEqual(t.sum(alongAxis: 1).scalars, [9, 12])
        XCTAssertEqual(t.mean(alongAxis: 1).scalars, [3, 4])
        XCTAssertEqual(t.argmax(), [1, 2])
        let cube = Tensor<Double>(shape: [2, 2, 2], scalars: [1, 2, 3, 4, 5, 6, 7, 8])
        XCTAssertEqual(cube.sum(alongAxis: 1).scalars, [4, 6, 12, 14])
        XCTAssertEqual(cube.sum(alongAxis: 1).shape, [2, 2])
        XCTAssertEqual(t.sumOfSquares(), 91)
    }

    /// Every transpose combination of the GEMM wrapper against a naive triple loop.
    func testGemmAgainstNaiveProduct() {
        var rng = Random(seed: 3)
        let (m, k, n) = (3, 5, 4)
        let a = Tensor<Double>.normal([m, k], using: &rng), b = Tensor<Double>.normal([k, n], using: &rng)
        var naive = Tensor<Double>.zeros([m, n])
        for i in 0..<m { for j in 0..<n { for p in 0..<k { naive[i, j] += a[i, p] * b[p, j] } } }
        assertClose(Tensor.matmul(a, b), naive, tolerance: 1e-12)
        assertClose(Tensor.matmul(a.transposed(), b, transposeA: true), naive, tolerance: 1e-12)
        assertClose(Tensor.matmul(a, b.transposed(), transposeB: true), naive, tolerance: 1e-12)
        assertClose(Tensor.matmul(a.transposed(), b.transposed(), transposeA: true, transposeB: true), naive, tolerance: 1e-12)
        // accumulate: C = 2·AB + 1·C
        var c = naive
        Tensor.gemm(a, b, alpha: 2, beta: 1, into: &c)
        assertClose(c, naive * 3, tolerance: 1e-12)
    }

    func testDescriptionShowsValuesAndShape() {
        let t = Tensor<Float>(shape: [2, 2], scalars: [1, 2.5, 3, 4])
        XCTAssertTrue(t.description.contains("[[1, 2.5000],\n [3, 4]]"), t.description)
        XCTAssertTrue(t.description.contains("Tensor<Float> of shape [2, 2]"))
        let long = Tensor<Float>.zeros([20])
        XCTAssertTrue(long.description.contains("..."), "long axes are abbreviated")
    }

    func testRandomIsReproducibleAndDistributed() {
        var r1 = Random(seed: 42), r2 = Random(seed: 42), r3 = Random(seed: 43)
        let a = Tensor<Double>.normal([10000], using: &r1)
        XCTAssertEqual(a, Tensor<Double>.normal([10000], using: &r2))
        XCTAssertNotEqual(a, Tensor<Double>.normal([10000], using: &r3))
        XCTAssertEqual(a.mean(), 0, accuracy: 0.05)
        XCTAssertEqual((a.sumOfSquares() / 10000).squareRoot(), 1, accuracy: 0.05)
        let u = Tensor<Double>.uniform([10000], in: -2...2, using: &r1)
        XCTAssertTrue(u.scalars.allSatisfy { (-2...2).contains($0) })
        XCTAssertEqual(u.mean(), 0, accuracy: 0.1)
        var r4 = Random(state: r1.state)
        XCTAssertEqual(r4.next(), r1.next(), "a generator resumed from a saved state continues the same stream")
        XCTAssertEqual(Set(r4.permutation(100)).count, 100)
    }

    func testThreadsSettingAndParallelForCoversRange() {
        let saved = Threads.count
        defer { Threads.count = saved }
        Threads.count = 2
        var hits = [Int](repeating: 0, count: 100_000)
        hits.withUnsafeMutableBufferPointer { buffer in
            let p = buffer.baseAddress!
            Threads.parallelFor(100_000) { range in for i in range { p[i] += 1 } }
        }
        XCTAssertTrue(hits.allSatisfy { $0 == 1 }, "every index visited exactly once")
    }

    func testInitializersHaveTheirScale() {
        var rng = Random(seed: 1)
        let u: Tensor<Double> = Initializer.uniformFanIn.make([200, 100], fanIn: 100, fanOut: 200, using: &rng)
        XCTAssertLessThanOrEqual(u.maxAbs(), 0.1)
        XCTAssertGreaterThan(u.maxAbs(), 0.09)
        let g: Tensor<Double> = Initializer.glorotUniform.make([200, 100], fanIn: 100, fanOut: 200, using: &rng)
        XCTAssertLessThanOrEqual(g.maxAbs(), (6.0 / 300).squareRoot())
        let he: Tensor<Double> = Initializer.heNormal.make([200, 100], fanIn: 100, fanOut: 200, using: &rng)
        XCTAssertEqual((he.sumOfSquares() / Double(he.count)).squareRoot(), (2.0 / 100).squareRoot(), accuracy: 0.01)
        let gn: Tensor<Double> = Initializer.glorotNormal.make([200, 100], fanIn: 100, fanOut: 200, using: &rng)
        XCTAssertEqual((gn.sumOfSquares() / Double(gn.count)).squareRoot(), (2.0 / 300).squareRoot(), accuracy: 0.01)
    }
}
