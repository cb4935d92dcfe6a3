import Backprop
import Foundation
import XCTest

/// The README's code samples, kept compiling and true.
final class ReadmeTests: XCTestCase {
    func testFirstNetworkSample() {
        Random.global = Random(seed: 42)
        let model = Sequential<Float> {
            Linear(784, 128); ReLU()
            Linear(128, 10)
        }
        let loss = CrossEntropyLoss<Float>()
        let x = Tensor<Float>.uniform([32, 784], in: 0...1)
        let labels = (0..<32).map { $0 % 10 }
        let first = model.layers[0]
        let h = first.fprop(x)
        let gh = Tensor<Float>.ones(h.shape)
        let gx = first.bprop(x, gh)
        first.grad(x, gh)
        XCTAssertEqual(h.shape, [32, 128])
        XCTAssertEqual(gx.shape, [32, 784])
        let optimizer = SGD(model.parameters, learningRate: 0.05, momentum: 0.9)
        let start = loss.forward(model.fprop(x), labels)
        for _ in 0..<100 {
            let scores = model.fprop(x)
            model.zeroGrad()
            model.grad(x, loss.backward(scores, labels))
            optimizer.step()
        }
        XCTAssertLessThan(loss.forward(model.fprop(x), labels), start / 10, "the loop memorises the batch")
        XCTAssertTrue(model.description.contains("Linear(784 -> 128)"))
    }

    func testCustomLayerSample() {
        final class Square: ShapePreserving {
            typealias Scalar = Double
            func fprop(_ x: Tensor<Double>) -> Tensor<Double> { x * x }
            func bprop(_ x: Tensor<Double>, _ g: Tensor<Double>) -> Tensor<Double> { 2 * x * g }
        }
        let report = GradientCheck.check(Square(), input: .normal([4, 5]))
        XCTAssertTrue(report.passed, "\(report)")
    }

    /// The README's first example, built in a new package in Swift 6 language mode that
    /// depends on this checkout by path (Scripts/check-consumer-package.sh). It builds the
    /// library once more (about a minute), so it runs when `CI=true` or
    /// `BACKPROP_TEST_CONSUMER=1`, and skips with a message otherwise.
    func testFirstExampleBuildsInASwift6ConsumerPackage() throws {
        let env = ProcessInfo.processInfo.environment
        guard env["CI"] == "true" || env["BACKPROP_TEST_CONSUMER"] == "1" else {
            throw XCTSkip("the consumer-package build takes a minute: set BACKPROP_TEST_CONSUMER=1 (CI sets CI=true) to run it")
        }
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("backprop-consumer-\(getpid())")
        defer { try? FileManager.default.removeItem(at: work) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [repo.appendingPathComponent("Scripts/check-consumer-package.sh").path, work.path]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "the README's first example did not build or run in a Swift 6 package:\n\(text)")
        XCTAssertTrue(text.contains("parameters in all"), "the example's last line (the model's description) is missing:\n\(text)")
    }
}
