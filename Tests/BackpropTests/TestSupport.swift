import Backprop
import Foundation
import XCTest

/// Runs `GradientCheck` on a Double layer and fails the test with the report if any
/// gradient (input or parameter) disagrees with central differences.
func assertGradientsMatch<L: Layer>(
    _ layer: L, input: Tensor<Double>, gradOutput: Tensor<Double>? = nil,
    checkInput: Bool = true, _ message: String = "",
    file: StaticString = #filePath, line: UInt = #line
) where L.Scalar == Double {
    let report = GradientCheck.check(layer, input: input, gradOutput: gradOutput, checkInput: checkInput)
    XCTAssertTrue(report.passed, "\(layer) \(message)\n\(report)", file: file, line: line)
}

/// Same for a criterion.
func assertGradientsMatch<C: Criterion>(
    _ criterion: C, input: Tensor<Double>, target: C.Target, _ message: String = "",
    file: StaticString = #filePath, line: UInt = #line
) where C.Scalar == Double {
    let report = GradientCheck.check(criterion, input: input, target: target)
    XCTAssertTrue(report.passed, "\(C.self) \(message)\n\(report)", file: file, line: line)
}

/// A seed for randomised tests: `BACKPROP_TEST_SEED` if set, else a fresh one. It is
/// printed, so a failing run can be repeated exactly.
func testSeed(_ name: String = #function) -> UInt64 {
    let seed =
        ProcessInfo.processInfo.environment["BACKPROP_TEST_SEED"].flatMap(UInt64.init)
        ?? UInt64.random(in: 1...1_000_000)
    print("\(name): seed \(seed) (repeat with BACKPROP_TEST_SEED=\(seed))")
    return seed
}

/// The shared data folder (`../shared/data` next to the checkout) or nil.
/// Set `MNIST_DIR` / `BACKPROP_DATA` to point elsewhere.
func sharedDataDirectory() -> String? {
    if let dir = ProcessInfo.processInfo.environment["BACKPROP_DATA"] { return dir }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let dir = root.deletingLastPathComponent().appendingPathComponent("shared/data").path
    return FileManager.default.fileExists(atPath: dir) ? dir : nil
}

/// The MNIST directory for data-dependent tests. Skips the test with a message when the
/// data is absent, but fails it when `CI=true` (CI must always have the data).
func requireMNIST(file: StaticString = #filePath, line: UInt = #line) throws -> String {
    let env = ProcessInfo.processInfo.environment
    let candidates = [env["MNIST_DIR"], sharedDataDirectory().map { $0 + "/mnist" }].compactMap { $0 }
    if let dir = candidates.first(where: { MNIST<Float>.isPresent(in: $0) }) { return dir }
    let message = "MNIST not found (looked in \(candidates)); set MNIST_DIR or run Scripts/download-mnist.sh"
    if env["CI"] == "true" {
        XCTFail("CI=true but " + message, file: file, line: line)
        throw XCTSkip(message)
    }
    throw XCTSkip(message)
}

/// Asserts two tensors have the same shape and agree element-wise within `tolerance`.
func assertClose<S: TensorScalar>(
    _ a: Tensor<S>, _ b: Tensor<S>, tolerance: Double = 1e-9, _ message: String = "",
    file: StaticString = #filePath, line: UInt = #line
) {
    XCTAssertEqual(a.shape, b.shape, "shapes differ \(message)", file: file, line: line)
    guard a.shape == b.shape else { return }
    var worst = 0.0, at = 0
    for i in 0..<a.count {
        let d = abs(Double(a.scalars[i]) - Double(b.scalars[i]))
        if d > worst || d.isNaN { worst = d; at = i }
    }
    XCTAssertLessThanOrEqual(
        worst, tolerance, "max difference \(worst) at flat index \(at): \(a.scalars[at]) vs \(b.scalars[at]) \(message)", file: file,
        line: line)
}
