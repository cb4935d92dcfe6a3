import Backprop
import XCTest

/// `concatenated`, `split`, `slice` and `sign` against plain index arithmetic, on odd shapes,
/// along the first, a middle and the last axis, and negative axes.
final class TensorAxesTests: XCTestCase {
    /// Row-major multi-index of flat index `flat` in `shape`.
    func index(_ flat: Int, _ shape: [Int]) -> [Int] {
        var rest = flat, result = Array(repeating: 0, count: shape.count)
        for d in shape.indices.reversed() { result[d] = rest % shape[d]; rest /= shape[d] }
        return result
    }

    func flat(_ index: [Int], _ shape: [Int]) -> Int {
        zip(index, shape).reduce(0) { $0 * $1.1 + $1.0 }
    }

    /// A tensor whose elements tell where they come from: `tag` · 1000 + flat index.
    func tagged(_ shape: [Int], _ tag: Int) -> Tensor<Double> {
        Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { Double(tag * 1000 + $0) })
    }

    func testConcatenatedAlongEachAxis() {
        let base = [3, 5, 7]
        for axis in [0, 1, 2, -1, -2, -3] {
            let a = (axis + 3) % 3
            let sizes = [2, 1, 3]
            let parts = sizes.enumerated().map { i, n -> Tensor<Double> in
                var s = base; s[a] = n; return tagged(s, i + 1)
            }
            let joined = Tensor.concatenated(parts, along: axis)
            var expectedShape = base; expectedShape[a] = 6
            XCTAssertEqual(joined.shape, expectedShape, "axis \(axis)")
            for f in 0..<joined.count {
                var idx = index(f, expectedShape)
                var part = 0
                while idx[a] >= sizes[part] { idx[a] -= sizes[part]; part += 1 }
                XCTAssertEqual(joined.scalars[f], parts[part].scalars[flat(idx, parts[part].shape)], "axis \(axis), flat \(f)")
            }
        }
    }

    func testSliceAndSplitAlongEachAxis() {
        let shape = [3, 5, 7]
        let x = tagged(shape, 1)
        for axis in [0, 1, 2, -1, -2] {
            let a = (axis + 3) % 3
            let range = 1..<shape[a] - 1
            let piece = x.slice(range, along: axis)
            var s = shape; s[a] = range.count
            XCTAssertEqual(piece.shape, s)
            for f in 0..<piece.count {
                var idx = index(f, s); idx[a] += range.lowerBound
                XCTAssertEqual(piece.scalars[f], x.scalars[flat(idx, shape)], "axis \(axis), flat \(f)")
            }
            let sizes = [1, shape[a] - 3, 0, 2]
            let pieces = x.split(sizes: sizes, along: axis)
            XCTAssertEqual(pieces.map { $0.shape[a] }, sizes)
            var start = 0
            for (i, p) in pieces.enumerated() {
                XCTAssertEqual(p, x.slice(start..<start + sizes[i], along: a), "piece \(i) along \(axis)")
                start += sizes[i]
            }
            XCTAssertEqual(Tensor.concatenated(pieces, along: axis), x, "split then concatenated is the tensor again")
        }
    }

    func testSliceIsACopy() {
        let x = tagged([2, 3], 0)
        var piece = x.slice(0..<1, along: 1)
        piece.scalars[0] = -1
        XCTAssertEqual(x.scalars[0], 0, "changing a slice leaves the tensor alone")
    }

    func testSign() {
        let x = Tensor<Float>([-2.5, 0, 3, -0.0, .infinity, -1e-30])
        XCTAssertEqual(x.sign().scalars, [-1, 0, 1, 0, 1, -1])
        XCTAssertTrue(Tensor<Double>([.nan]).sign().scalars[0].isNaN)
        XCTAssertEqual(Tensor<Double>(shape: [2, 1], scalars: [4, -4]).sign().shape, [2, 1])
    }
}
