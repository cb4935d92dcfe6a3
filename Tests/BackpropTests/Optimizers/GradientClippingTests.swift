import Backprop
import XCTest

/// Gradient clipping by global norm (`Optimizer.maxGradientNorm`, `clipGradients`, `gradientNorm`).
final class GradientClippingTests: XCTestCase {
    func makeParameters(using rng: inout Random) -> [Parameter<Double>] {
        let ps = [Parameter<Double>(.normal([3, 4], using: &rng)), Parameter<Double>(.normal([5], using: &rng), decays: false)]
        for p in ps { p.grad = .normal(p.value.shape, std: 3, using: &rng) }
        return ps
    }

    func testGradientNormIsTheGlobalNorm() {
        var rng = Random(seed: testSeed())
        let ps = makeParameters(using: &rng)
        let optimizer = SGD(ps, learningRate: 0.1)
        let expected = ps.flatMap(\.grad.scalars).map { $0 * $0 }.reduce(0, +).squareRoot()
        XCTAssertEqual(optimizer.gradientNorm(), expected, accuracy: 1e-12)
        // a shared parameter counts once
        XCTAssertEqual(SGD(ps + [ps[0]], learningRate: 0.1).gradientNorm(), expected, accuracy: 1e-12)
    }

    func testClippingRescalesAllGradientsByOneFactor() {
        var rng = Random(seed: testSeed())
        let ps = makeParameters(using: &rng)
        let before = ps.map(\.grad)
        let optimizer = Adam(ps)
        let norm = optimizer.gradientNorm()
        let maxNorm = norm / 4
        XCTAssertEqual(optimizer.clipGradients(maxNorm: maxNorm), norm, accuracy: 1e-12, "returns the norm before clipping")
        XCTAssertEqual(optimizer.gradientNorm(), maxNorm, accuracy: 1e-6 * maxNorm)
        let factor = ps[0].grad.scalars[0] / before[0].scalars[0]
        for (p, g) in zip(ps, before) { assertClose(p.grad, g * factor, tolerance: 1e-12, "same direction") }
        // below the limit: untouched
        let small = ps.map(\.grad)
        optimizer.clipGradients(maxNorm: maxNorm * 2)
        XCTAssertEqual(ps.map(\.grad), small)
    }

    func testStepClipsBeforeUpdating() {
        var rng = Random(seed: testSeed())
        let ps = makeParameters(using: &rng)
        let start = ps.map(\.value), grads = ps.map(\.grad)
        let norm = SGD(ps, learningRate: 1).gradientNorm()
        let optimizer = SGD(ps, learningRate: 1, maxGradientNorm: 1)
        optimizer.step()
        // plain SGD with lr 1: w moves by exactly the clipped gradient, of norm 1
        var moved = 0.0
        for (p, (w0, g)) in zip(ps, zip(start, grads)) {
            assertClose(w0 - p.value, g * (1 / (norm + 1e-6)), tolerance: 1e-9)
            moved += (w0 - p.value).sumOfSquares()
        }
        XCTAssertEqual(moved.squareRoot(), 1, accuracy: 1e-5)
    }
}
