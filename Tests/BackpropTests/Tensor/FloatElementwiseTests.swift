import Backprop
import Foundation
import XCTest

/// The vectorised Float exp, sigmoid and tanh against libm, over the whole range.
final class FloatElementwiseTests: XCTestCase {
    /// Distance in units in the last place between two floats.
    func ulps(_ a: Float, _ b: Float) -> Int {
        if a == b { return 0 }
        if a.isNaN || b.isNaN || a.sign != b.sign { return Int.max }
        return abs(Int(a.bitPattern) - Int(b.bitPattern))
    }

    func check(
        _ name: String, _ kernel: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void,
        _ reference: (Double) -> Double, in range: ClosedRange<Float>, maxUlps: Int, absolute: Double = 0
    ) {
        // a dense sweep of the range, plus a length that is not a multiple of the vector width
        let n = 200_003
        let xs = (0..<n).map { range.lowerBound + (range.upperBound - range.lowerBound) * Float($0) / Float(n - 1) }
        var ys = [Float](repeating: 0, count: n)
        xs.withUnsafeBufferPointer { x in ys.withUnsafeMutableBufferPointer { kernel(x.baseAddress!, $0.baseAddress!, n) } }
        var worst = 0, at: Float = 0
        for (x, y) in zip(xs, ys) {
            let expected = Float(reference(Double(x)))
            let distance = abs(Double(y) - Double(expected)) <= absolute ? 0 : ulps(y, expected)
            if distance > worst { worst = distance; at = x }
        }
        XCTAssertLessThanOrEqual(worst, maxUlps, "\(name): \(worst) ulps at x = \(at)")
    }

    func testExp() {
        check("exp", Float.exp, Foundation.exp, in: -87.3...88.7, maxUlps: 3)
        var out = [Float](repeating: 0, count: 5)
        let special: [Float] = [-200, 200, .nan, 0, -.infinity]
        special.withUnsafeBufferPointer { x in out.withUnsafeMutableBufferPointer { Float.exp(x.baseAddress!, $0.baseAddress!, 5) } }
        XCTAssertEqual(out[0], 0)
        XCTAssertEqual(out[1], .infinity)
        XCTAssertTrue(out[2].isNaN)
        XCTAssertEqual(out[3], 1)
        XCTAssertEqual(out[4], 0)
    }

    func testSigmoid() {
        check("sigmoid", Float.sigmoid, { 1 / (1 + Foundation.exp(-$0)) }, in: -30...30, maxUlps: 4, absolute: 1e-37)
        check("sigmoid far", Float.sigmoid, { 1 / (1 + Foundation.exp(-$0)) }, in: -200...200, maxUlps: 4, absolute: 1e-37)
    }

    func testTanh() {
        check("tanh", Float.tanh, Foundation.tanh, in: -12...12, maxUlps: 4)
        check("tanh near 0", Float.tanh, Foundation.tanh, in: -0.7...0.7, maxUlps: 3)
    }
}
