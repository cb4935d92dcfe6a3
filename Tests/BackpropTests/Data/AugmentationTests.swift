// Image augmentation: deterministic per seed, independent of the thread count, and each
// transform doing what it says (a translation moves a pixel, a right-angle rotation
// permutes pixels like numpy.rot90, the identity is exact, mass is roughly kept), and
// Float's C resampling loop against the generic Swift one.
@testable import Backprop
import XCTest

final class AugmentationTests: XCTestCase {
    /// `n` random images `[n, c, h, w]` with values in [0, 1).
    func images<S: TensorScalar>(_ n: Int, _ c: Int, _ h: Int, _ w: Int, seed: UInt64) -> Tensor<S> {
        var rng = Random(seed: seed)
        return .uniform([n, c, h, w], in: 0...1, using: &rng)
    }

    /// A 28×28 image holding a centred blob (a Gaussian of σ = 3 pixels), [1, 1, 28, 28].
    func blob() -> Tensor<Float> {
        Tensor(
            shape: [1, 1, 28, 28],
            scalars: (0..<784).map { p in
                let dx = Double(p % 28) - 13.5, dy = Double(p / 28) - 13.5
                return Float(exp(-(dx * dx + dy * dy) / 18))
            })
    }

    func testDeterministicPerSeedAndDifferentForOtherSeeds() {
        let x: Tensor<Float> = images(8, 1, 28, 28, seed: 1)
        let a = ImageAugmentation(maxShift: 2, maxRotation: 15, elastic: .init(alpha: 8, sigma: 4), seed: 5)
        XCTAssertEqual(a(x, batch: 3), a(x, batch: 3))
        XCTAssertNotEqual(a(x, batch: 3), a(x, batch: 4), "another batch draws other warps")
        var b = a
        b.seed = 6
        XCTAssertNotEqual(a(x, batch: 3), b(x, batch: 3), "another seed draws other warps")
        XCTAssertNotEqual(a(x, batch: 3), x)
    }

    func testSameResultOnOneAndTwoThreads() {
        let saved = Threads.count
        defer { Threads.count = saved }
        // enough work for parallelFor to split it (16 images of 28×28)
        let x: Tensor<Float> = images(16, 1, 28, 28, seed: 2)
        let a = ImageAugmentation(maxShift: 2, maxRotation: 10, elastic: .init(alpha: 6, sigma: 3), seed: 9)
        Threads.count = 1
        let one = a(x, batch: 7)
        Threads.count = 2
        let two = a(x, batch: 7)
        let inline = a(x, batch: 7, threads: 1)
        XCTAssertEqual(one, two)
        XCTAssertEqual(one, inline)
    }

    func testLabelsAndShapesKeptAndFlatImagesTakeAnImageShape() {
        let x: Tensor<Float> = images(4, 1, 28, 28, seed: 3)
        let a = ImageAugmentation(maxShift: 2, maxRotation: 10, seed: 1)
        let flat = a(x.reshaped([4, 784]), batch: 0, imageShape: [28, 28])
        XCTAssertEqual(flat.shape, [4, 784])
        XCTAssertEqual(flat.reshaped([4, 1, 28, 28]), a(x, batch: 0), "a flattened digit is augmented as its image")
        XCTAssertEqual(a(x.reshaped([4, 784]), batch: 0, imageShape: [1, 28, 28]), flat)
    }

    func testTranslationMovesAPixelWhereExpected() {
        var x = Tensor<Float>.zeros([1, 1, 10, 12])
        x.scalars[4 * 12 + 5] = 1 // row 4, column 5
        let moved = ImageAugmentation.apply([ImageWarp(shift: (x: 3, y: -2))], to: x)
        XCTAssertEqual(moved.scalars[2 * 12 + 8], 1, "to row 2, column 8")
        XCTAssertEqual(moved.sum(), 1)
        // moved out of the image: zero fill
        let gone = ImageAugmentation.apply([ImageWarp(shift: (x: 7, y: 0))], to: x)
        XCTAssertEqual(gone.sum(), 0)
    }

    func testRandomShiftsStayWithinMaxShiftAndAreIntegers() {
        let a = ImageAugmentation(maxShift: 2, seed: 4)
        var seen = Set<Int>()
        for i in 0..<200 {
            let w = a.warp(batch: 1, image: i, height: 28, width: 28)
            XCTAssert((-2...2).contains(w.shift.x) && (-2...2).contains(w.shift.y), "\(w.shift)")
            XCTAssertEqual(w.rotation, 0)
            seen.insert(w.shift.x)
        }
        XCTAssertEqual(seen, Set(-2...2), "every shift in ±2 is drawn")
        let r = ImageAugmentation(maxRotation: 10, seed: 4)
        let angles = (0..<200).map { r.warp(batch: 1, image: $0, height: 28, width: 28).rotation }
        XCTAssert(angles.allSatisfy { abs($0) <= 10 } && angles.contains { $0 > 5 } && angles.contains { $0 < -5 })
    }

    func testIdentityIsExact() {
        let x: Tensor<Float> = images(3, 2, 7, 9, seed: 5)
        XCTAssertEqual(ImageAugmentation.apply(Array(repeating: ImageWarp(), count: 3), to: x), x)
        XCTAssertEqual(ImageAugmentation(seed: 1)(x, batch: 0), x, "no shift, no rotation")
        let d: Tensor<Double> = images(3, 2, 7, 9, seed: 5)
        XCTAssertEqual(
            ImageAugmentation.apply(
                [ImageWarp(rotation: 360), ImageWarp(), ImageWarp(displacement: [Double](repeating: 0, count: 126))], to: d), d)
    }

    func testRotationBy90DegreesIsNumpyRot90() {
        // numpy.rot90(m) (counter-clockwise as displayed): out[i][j] = m[j][W − 1 − i]
        let x: Tensor<Float> = images(1, 2, 6, 6, seed: 6)
        let turned = ImageAugmentation.apply([ImageWarp(rotation: 90)], to: x)
        for c in 0..<2 {
            for i in 0..<6 {
                for j in 0..<6 { XCTAssertEqual(turned[0, c, i, j], x[0, c, j, 5 - i]) }
            }
        }
        let back = ImageAugmentation.apply([ImageWarp(rotation: -90)], to: turned)
        XCTAssertEqual(back, x)
    }

    func testSmallRotationAndElasticDistortionRoughlyKeepMass() {
        let x = blob()
        for warp in [ImageWarp(rotation: 12), ImageWarp(shift: (x: 2, y: -1), rotation: -8)] {
            let y = ImageAugmentation.apply([warp], to: x)
            XCTAssertEqual(Double(y.sum()), Double(x.sum()), accuracy: 0.02 * Double(x.sum()), "\(warp)")
            XCTAssertNotEqual(y, x)
        }
        let elastic = ImageAugmentation(elastic: .init(alpha: 20, sigma: 4), seed: 3)(x, batch: 0)
        XCTAssertEqual(Double(elastic.sum()), Double(x.sum()), accuracy: 0.1 * Double(x.sum()))
        XCTAssertGreaterThan(Double((elastic - x).maxAbs()), 0.01, "the field moves something")
    }

    func testElasticFieldIsSmoothAndScaledByAlpha() {
        var rng = Random(seed: 1)
        let field = elasticField(height: 28, width: 28, .init(alpha: 1, sigma: 4), using: &rng)
        var rng2 = Random(seed: 1)
        let strong = elasticField(height: 28, width: 28, .init(alpha: 34, sigma: 4), using: &rng2)
        for i in 0..<field.count { XCTAssertEqual(strong[i], 34 * field[i], accuracy: 1e-12) }
        // neighbours differ far less than independent uniform values would (~0.8 on average)
        let meanStep = (0..<27).map { abs(field[$0 + 1] - field[$0]) }.reduce(0, +) / 27
        XCTAssertLessThan(meanStep, 0.05)
        XCTAssert(field.allSatisfy { abs($0) < 1 })
    }

    func testFloatKernelMatchesGenericSwift() {
        let xf: Tensor<Float> = images(5, 2, 9, 11, seed: 8)
        let xd = Tensor<Double>(shape: xf.shape, scalars: xf.scalars.map(Double.init))
        let a = ImageAugmentation(maxShift: 3, maxRotation: 30, elastic: .init(alpha: 5, sigma: 2), seed: 2)
        let yf = a(xf, batch: 1), yd = a(xd, batch: 1)
        assertClose(Tensor<Double>(shape: yf.shape, scalars: yf.scalars.map(Double.init)), yd, tolerance: 1e-5)
    }
}
