// EarlyStopping: patience, minimum delta and mode, and restoring the best weights exactly
// (parameters and buffers), in memory and through a checkpoint file.
import Backprop
import Foundation
import XCTest

final class EarlyStoppingTests: XCTestCase {
    /// Linear → BatchNorm1d → ReLU → Linear: parameters and buffers.
    func model(seed: UInt64) -> Sequential<Float> {
        var rng = Random(seed: seed)
        return Sequential<Float> {
            Linear(4, 6, using: &rng); BatchNorm1d(6); ReLU(); Linear(6, 3, using: &rng)
        }
    }

    /// One training-mode forward (moves the running statistics) and a change of every weight.
    func perturb(_ m: Sequential<Float>, seed: UInt64) {
        var rng = Random(seed: seed)
        _ = m.fprop(.uniform([8, 4], in: -1...1, using: &rng))
        for p in m.parameters { p.value = p.value + Tensor.uniform(p.value.shape, in: -0.1...0.1, using: &rng) }
    }

    func testStopsAfterPatienceEpochsWithoutImprovement() throws {
        let m = model(seed: 1)
        let stopping = EarlyStopping<Float>(patience: 2)
        XCTAssertFalse(try stopping.update(1.0, model: m))
        XCTAssertFalse(try stopping.update(0.8, model: m))
        XCTAssertFalse(try stopping.update(0.9, model: m)) // 1 without improvement
        XCTAssertFalse(try stopping.update(0.7, model: m)) // improvement: the count restarts
        XCTAssertFalse(try stopping.update(0.7, model: m)) // equal is no improvement
        XCTAssertTrue(try stopping.update(0.75, model: m)) // 2 in a row: stop
        XCTAssertEqual(stopping.best, 0.7)
        XCTAssertEqual(stopping.bestEpoch, 4)
        XCTAssertEqual(stopping.epochs, 6)
    }

    func testMinDeltaAndModeMax() throws {
        let m = model(seed: 1)
        let loss = EarlyStopping<Float>(patience: 1, minDelta: 0.05)
        _ = try loss.update(1.0, model: m)
        XCTAssertFalse(loss.isImprovement(0.96), "better by less than minDelta")
        XCTAssertTrue(loss.isImprovement(0.94))
        XCTAssertTrue(try loss.update(0.96, model: m))
        XCTAssertEqual(loss.best, 1.0)

        let accuracy = EarlyStopping<Float>(patience: 3, minDelta: 0.001, mode: .max)
        _ = try accuracy.update(0.90, model: m)
        XCTAssertTrue(accuracy.isImprovement(0.902))
        XCTAssertFalse(accuracy.isImprovement(0.9005))
        XCTAssertFalse(accuracy.isImprovement(0.85))
        XCTAssertFalse(accuracy.isImprovement(.nan))
        _ = try accuracy.update(0.95, model: m)
        XCTAssertEqual(accuracy.best, 0.95)
    }

    func testRestoresTheBestWeightsExactlyInMemoryAndFromAFile() throws {
        let path = NSTemporaryDirectory() + "early-stopping-\(getpid()).safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        for checkpointPath in [nil, path] {
            let m = model(seed: 2)
            let stopping = EarlyStopping<Float>(patience: 2, checkpointPath: checkpointPath)
            perturb(m, seed: 3)
            _ = try stopping.update(0.5, model: m)
            perturb(m, seed: 4)
            _ = try stopping.update(0.3, model: m) // the best
            let best = m.stateDict
            perturb(m, seed: 5)
            _ = try stopping.update(0.4, model: m)
            perturb(m, seed: 6)
            XCTAssertTrue(try stopping.update(0.6, model: m))
            XCTAssertNotEqual(m.stateDict.map(\.value), best.map(\.value))
            try stopping.restoreBest(into: m)
            XCTAssertEqual(m.stateDict.map(\.name), best.map(\.name))
            XCTAssertEqual(m.stateDict.map(\.value), best.map(\.value), "checkpoint \(checkpointPath ?? "none")")
            XCTAssert(best.map(\.name).contains("1.running_mean"))
        }
    }

    func testKeptWeightsAreACopyNotTheLiveTensors() throws {
        let m = model(seed: 7)
        let stopping = EarlyStopping<Float>(patience: 5)
        _ = try stopping.update(1, model: m)
        let best = m.stateDict
        // an optimizer writes into the weights' storage in place
        for p in m.parameters { p.value.withUnsafeMutablePointer { $0[0] += 1 } }
        m.namedBuffers[0].buffer.value.withUnsafeMutablePointer { $0[0] += 1 }
        try stopping.restoreBest(into: m)
        XCTAssertEqual(m.stateDict.map(\.value), best.map(\.value))
    }

    func testRestoringIntoAnotherArchitectureIsAnError() throws {
        let stopping = EarlyStopping<Float>(patience: 1)
        _ = try stopping.update(1, model: model(seed: 1))
        var rng = Random(seed: 1)
        let other = Sequential<Float> { Linear(4, 5, using: &rng) }
        XCTAssertThrowsError(try stopping.restoreBest(into: other)) { XCTAssert($0 is StateDictError, "\($0)") }
    }
}
