// CrossEntropyLoss's gradient on confident rows: the target's entry keeps its tiny value
// instead of cancelling to 0 (which would bias FGSM's input gradient).
import Backprop
import XCTest

final class CrossEntropySaturationTests: XCTestCase {
    /// logits (0, 30, 0), target 1: p_other = e⁻³⁰ / (1 + 2e⁻³⁰) each, and the target's
    /// gradient is −2 p_other ≈ −1.9e−13. In Float p_target rounds to 1, so p_target − 1 is 0.
    func testTheTargetEntryOfAConfidentRowIsNotLostToRounding() {
        let pOther = exp(-30.0) / (1 + 2 * exp(-30.0))
        for scale in [1.0, 0.5] { // one row, then two (mean over 2)
            let rows = scale == 1 ? 1 : 2
            let logits = Tensor<Float>(shape: [rows, 3], scalars: Array([Float(0), 30, 0].repeated(rows)))
            let g = CrossEntropyLoss<Float>().backward(logits, Array(repeating: 1, count: rows))
            for r in 0..<rows {
                XCTAssertEqual(Double(g.scalars[r * 3 + 1]), -2 * pOther * scale, accuracy: 1e-3 * 2 * pOther * scale)
                XCTAssertEqual(Double(g.scalars[r * 3]), pOther * scale, accuracy: 1e-3 * pOther * scale)
            }
        }
        // a row that is not saturated: still softmax − onehot, rows summing to 0
        let g = CrossEntropyLoss<Double>().backward(Tensor(shape: [1, 3], scalars: [1, 2, 3]), [0])
        let z = [1.0, 2, 3].map { exp($0) }, total = z.reduce(0, +)
        XCTAssertEqual(g.scalars[0], z[0] / total - 1, accuracy: 1e-15)
        XCTAssertEqual(g.scalars[2], z[2] / total, accuracy: 1e-15)
        XCTAssertEqual(g.scalars.reduce(0, +), 0, accuracy: 1e-15)
    }
}

private extension Array {
    func repeated(_ n: Int) -> [Element] { (0..<n).flatMap { _ in self } }
}
