@testable import Backprop
import XCTest

final class ReshapingTests: XCTestCase {
    func testFlattenKeepsTheBatchAxis() throws {
        var rng = Random(seed: testSeed())
        let flatten = Flatten<Double>()
        let x = Tensor<Double>.normal([3, 2, 5, 3], using: &rng)
        let y = flatten.fprop(x)
        XCTAssertEqual(y.shape, [3, 30])
        XCTAssertEqual(y.scalars, x.scalars)
        XCTAssertEqual(try flatten.outputShape(for: [64, 128, 5, 5]), [64, 3200])
        assertGradientsMatch(flatten, input: x)
    }

    func testReshapeInfersOneExtentAndReportsBadShapes() throws {
        var rng = Random(seed: testSeed())
        let reshape = Reshape<Double>([1, -1, 4])
        let x = Tensor<Double>.normal([3, 12], using: &rng)
        let y = reshape.fprop(x)
        XCTAssertEqual(y.shape, [3, 1, 3, 4])
        XCTAssertEqual(y.scalars, x.scalars)
        XCTAssertEqual(try Reshape<Float>([1, 28, 28]).outputShape(for: [5, 784]), [5, 1, 28, 28])
        XCTAssertThrowsError(try Reshape<Float>([1, 28, 28]).outputShape(for: [5, 780])) { error in
            XCTAssertTrue("\(error)".contains("[5, 780]") && "\(error)".contains("[1, 28, 28]"), "\(error)")
        }
        XCTAssertThrowsError(try Reshape<Float>([5, -1]).outputShape(for: [2, 12]))
        assertGradientsMatch(reshape, input: x)
    }

    func testPad2DAddsZerosAroundAndCropsTheGradient() throws {
        var rng = Random(seed: testSeed())
        let pad = Pad2D<Double>(left: 1, right: 2, top: 0, bottom: 3)
        let x = Tensor<Double>.normal([2, 3, 4, 5], using: &rng)
        let y = pad.fprop(x)
        XCTAssertEqual(y.shape, [2, 3, 7, 8])
        for n in 0..<2 {
            for c in 0..<3 {
                for h in 0..<7 {
                    for w in 0..<8 {
                        let inside = h < 4 && w >= 1 && w < 6
                        XCTAssertEqual(y[n, c, h, w], inside ? x[n, c, h, w - 1] : 0)
                    }
                }
            }
        }
        assertGradientsMatch(pad, input: x)
        assertGradientsMatch(Pad2D<Double>(2), input: .normal([3, 5, 4], using: &rng), "on a [C, H, W] input")
        XCTAssertEqual(try Pad2D<Float>(2).outputShape(for: [64, 1, 28, 28]), [64, 1, 32, 32])
        XCTAssertThrowsError(try Pad2D<Float>(2).outputShape(for: [64, 784])) { error in
            XCTAssertTrue("\(error)".contains("Pad2D(2)") && "\(error)".contains("[64, 784]"), "\(error)")
        }
    }
}
