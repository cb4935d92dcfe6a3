@testable import Backprop
import XCTest

final class DropoutTests: XCTestCase {
    func testIdentityInEvaluationMode() {
        var rng = Random(seed: testSeed())
        let dropout = Dropout<Double>(0.5, using: &rng)
        dropout.isTraining = false
        let x = Tensor<Double>.normal([4, 7], using: &rng), g = Tensor<Double>.normal([4, 7], using: &rng)
        XCTAssertEqual(dropout.fprop(x), x)
        XCTAssertEqual(dropout.bprop(x, g), g)
        let model = Sequential<Double>([Dropout<Double>(0.3), Dropout<Double>(0.9)])
        model.isTraining = false
        XCTAssertEqual(model.fprop(x), x, "Sequential passes evaluation mode down")
    }

    func testKeepRateAndInvertedScaling() {
        var rng = Random(seed: testSeed())
        for p in [0.2, 0.5, 0.75] {
            let dropout = Dropout<Float>(p, using: &rng)
            let n = 100_000
            let x = Tensor<Float>.uniform([n], in: 1...2, using: &rng)
            let y = dropout.fprop(x)
            var kept = 0
            for i in 0..<n where y.scalars[i] != 0 {
                kept += 1
                XCTAssertEqual(y.scalars[i], x.scalars[i] * Float(1 / (1 - p)), accuracy: 1e-5, "kept values are scaled by 1/(1-p)")
            }
            // binomial: standard deviation √(n p (1 − p)) ≤ 160; allow 5 of them
            XCTAssertEqual(Double(kept), Double(n) * (1 - p), accuracy: 800, "keep rate for p = \(p)")
            // the gradient goes through the same mask
            let g = dropout.bprop(x, .ones([n]))
            XCTAssertEqual(g.scalars.map { $0 != 0 }, y.scalars.map { $0 != 0 })
        }
        let none = Dropout<Float>(0)
        let x = Tensor<Float>.ones([10])
        XCTAssertEqual(none.fprop(x), x)
        XCTAssertEqual(Dropout<Float>(1).fprop(x), .zeros([10]), "p = 1 drops everything")
    }

    func testMasksAreReproducibleFromTheSeed() {
        let x = Tensor<Float>.ones([1000])
        Random.global = Random(seed: 42)
        let a = Dropout<Float>(0.5)
        let maskA1 = a.fprop(x), maskA2 = a.fprop(x)
        Random.global = Random(seed: 42)
        let b = Dropout<Float>(0.5)
        XCTAssertEqual(b.fprop(x), maskA1)
        XCTAssertEqual(b.fprop(x), maskA2)
        XCTAssertNotEqual(maskA1, maskA2, "each fprop draws a new mask")
        b.rng = Random(seed: 7)
        let c = Dropout<Float>(0.5)
        c.rng = Random(seed: 7)
        XCTAssertEqual(b.fprop(x), c.fprop(x), "the generator can be set")
    }

    func testGradientsWithFixedMask() {
        var rng = Random(seed: testSeed())
        let dropout = Dropout<Double>(0.4, using: &rng)
        let x = Tensor<Double>.normal([3, 5, 4], using: &rng)
        _ = dropout.fprop(x)
        dropout.freezeMask()
        XCTAssertEqual(dropout.fprop(x), dropout.fprop(x), "a frozen mask is reused")
        assertGradientsMatch(dropout, input: x)

        // inside a network, with a mask of our own
        let inner = Dropout<Double>(0.5, using: &rng)
        inner.fixedMask = Tensor(shape: [2, 6], scalars: [2, 0, 2, 2, 0, 0, 0, 2, 2, 0, 2, 2])
        let model = Sequential<Double>([Linear<Double>(3, 6, using: &rng), Tanh<Double>(), inner, Linear<Double>(6, 2, using: &rng)])
        assertGradientsMatch(model, input: .normal([2, 3], using: &rng))
    }
}
