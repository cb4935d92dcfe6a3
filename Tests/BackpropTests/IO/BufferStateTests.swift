import Backprop
import Foundation
import XCTest

/// Buffers (non-trainable state) in state dicts, files and checkpoints: PyTorch's names,
/// the I64 count, round trips, all-or-nothing loads that list missing and unexpected
/// buffers, and old buffer-free files.
final class BufferStateTests: XCTestCase {
    func temporaryDirectory() throws -> String {
        let dir = NSTemporaryDirectory() + "backprop-buffers-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }

    /// Linear → BatchNorm1d → ReLU → Linear → BatchNorm1d, PyTorch's names 0.*, 1.*, 3.*, 4.*.
    func model(seed: UInt64) -> Sequential<Double> {
        var rng = Random(seed: seed)
        return Sequential<Double> {
            Linear<Double>(3, 4, using: &rng); BatchNorm1d<Double>(4); ReLU<Double>()
            Linear<Double>(4, 2, using: &rng); BatchNorm1d<Double>(2, momentum: 0.3)
        }
    }

    /// A few training-mode fprops, so the running statistics are not their initial values.
    func train(_ model: Sequential<Double>, seed: UInt64) {
        var rng = Random(seed: seed)
        for _ in 0..<3 { _ = model.fprop(.normal([6, 3], mean: 1, std: 2, using: &rng)) }
    }

    // MARK: SafeTensors integers

    func testInt64RoundTrip() throws {
        var file = SafeTensors()
        file.add("count", int64: [7], shape: [])
        file.add("many", int64: [-3, 0, 1 << 40, Int64.max], shape: [2, 2])
        file.add("weight", Tensor<Float>([1, 2]))
        let back = try SafeTensors(bytes: file.encoded())
        XCTAssertEqual(back["count"]?.dtype, .int64)
        XCTAssertEqual(back["count"]?.shape, [])
        XCTAssertEqual(try back.integers("count"), [7])
        XCTAssertEqual(try back.integers("many"), [-3, 0, 1 << 40, Int64.max])
        XCTAssertThrowsError(try back.integers("weight")) { error in
            XCTAssertEqual((error as? SafeTensorsError)?.kind, .unsupportedDType, "\(error)")
        }
        XCTAssertThrowsError(try back.integers("absent")) { error in
            XCTAssertEqual((error as? SafeTensorsError)?.kind, .missingTensor, "\(error)")
        }
        XCTAssertThrowsError(try back.tensor("count", as: Float.self), "an integer tensor is not converted to floats")
    }

    // MARK: state dicts

    func testStateDictNamesArePyTorchs() {
        let m = model(seed: 1)
        XCTAssertEqual(
            m.namedBuffers.map(\.name),
            [
                "1.running_mean", "1.running_var", "1.num_batches_tracked",
                "4.running_mean", "4.running_var", "4.num_batches_tracked"
            ])
        XCTAssertEqual(m.stateDict.map(\.name), m.namedParameters.map(\.name) + m.namedBuffers.map(\.name))
        var file = SafeTensors()
        m.addState(to: &file, as: .float32)
        XCTAssertEqual(file["1.running_mean"]?.dtype, .float32)
        XCTAssertEqual(file["1.num_batches_tracked"]?.dtype, .int64, "a count is I64 whatever the float type")
        XCTAssertEqual(file["1.num_batches_tracked"]?.shape, [])
        var parametersOnly = SafeTensors()
        m.addParameters(to: &parametersOnly)
        XCTAssertEqual(parametersOnly.names, m.namedParameters.map(\.name))
    }

    func testSaveLoadRoundTripGivesTheSameEvaluationOutputs() throws {
        let dir = try temporaryDirectory()
        let seed = testSeed()
        let original = model(seed: seed)
        train(original, seed: seed &+ 10)
        try original.save(to: dir + "/bn.safetensors")
        let file = try SafeTensors(contentsOf: dir + "/bn.safetensors")
        XCTAssertEqual(try file.integers("1.num_batches_tracked"), [3])

        let copy = model(seed: seed &+ 1)
        try copy.load(from: dir + "/bn.safetensors")
        for (a, b) in zip(original.namedBuffers, copy.namedBuffers) {
            XCTAssertEqual(a.buffer.value, b.buffer.value, a.name)
        }
        original.isTraining = false
        copy.isTraining = false
        var rng = Random(seed: seed &+ 20)
        let x = Tensor<Double>.normal([5, 3], using: &rng)
        XCTAssertEqual(copy.fprop(x), original.fprop(x))
        XCTAssertNotEqual(model(seed: seed &+ 1).fprop(x), original.fprop(x), "the test can tell models apart")
    }

    /// A count stored as F32 or F64 (or I32) loads too; running statistics must be floating point.
    func testCountLoadsFromFloatsAndOtherIntegers() throws {
        let m = model(seed: 2)
        var file = SafeTensors()
        m.addState(to: &file)
        file.add("1.num_batches_tracked", Tensor<Float>(shape: [], scalars: [5]))
        file.add("4.num_batches_tracked", Tensor<Double>(shape: [], scalars: [6]))
        try m.load(from: file, prefix: "")
        XCTAssertEqual(m.namedBuffers[2].buffer.value.scalars, [5])
        XCTAssertEqual(m.namedBuffers[5].buffer.value.scalars, [6])

        file.add("1.running_mean", int64: [1, 2, 3, 4], shape: [4])
        XCTAssertThrowsError(try m.load(from: file, prefix: "")) { error in
            guard let error = error as? StateDictError else { return XCTFail("\(error)") }
            XCTAssertEqual(error.unconvertible.map(\.name), ["1.running_mean"])
            XCTAssertTrue("\(error)".contains("not a number type the buffer takes: 1.running_mean is I64"), "\(error)")
        }
    }

    func testMissingBufferIsAnErrorAndNothingChanges() throws {
        let m = model(seed: 3)
        train(m, seed: 4)
        var parametersOnly = SafeTensors()
        model(seed: 5).addParameters(to: &parametersOnly) // an old file: parameters only
        let before = m.stateDict.map(\.value)
        XCTAssertThrowsError(try m.load(from: parametersOnly, prefix: "")) { error in
            guard let error = error as? StateDictError else { return XCTFail("\(error)") }
            XCTAssertEqual(error.missing.map(\.name), m.namedBuffers.map(\.name))
            XCTAssertTrue("\(error)".contains("missing from the file: buffer 1.running_mean (model shape [4])"), "\(error)")
            XCTAssertTrue("\(error)".contains("missing from the file: buffer 4.num_batches_tracked (model shape [])"), "\(error)")
        }
        XCTAssertEqual(m.stateDict.map(\.value), before, "a failed load changes nothing")

        // a buffer of the wrong shape
        var file = SafeTensors()
        m.addState(to: &file)
        file.add("1.running_var", Tensor<Double>.ones([5]))
        XCTAssertThrowsError(try m.load(from: file, prefix: "")) { error in
            XCTAssertTrue("\(error)".contains("shape mismatch: buffer 1.running_var: model [4], file [5]"), "\(error)")
        }
    }

    /// A batch-norm file into a model without batch norm: its buffers are unexpected.
    /// An old buffer-free file into a buffer-free model still loads.
    func testUnexpectedBuffersAndBufferFreeModels() throws {
        var rng = Random(seed: 6)
        let withBN = Sequential<Double> {
            Linear<Double>(3, 4, using: &rng); BatchNorm1d<Double>(4)
        }
        let plain = Sequential<Double> {
            Linear<Double>(3, 4, using: &rng); Tanh<Double>()
        }
        var file = SafeTensors()
        withBN.addState(to: &file)
        XCTAssertThrowsError(try plain.load(from: file, prefix: "")) { error in
            guard let error = error as? StateDictError else { return XCTFail("\(error)") }
            XCTAssertEqual(
                Set(error.unexpected.map(\.name)), ["1.weight", "1.bias", "1.running_mean", "1.running_var", "1.num_batches_tracked"])
        }
        var old = SafeTensors()
        plain.addParameters(to: &old)
        XCTAssertNoThrow(try plain.load(from: old, prefix: ""))
    }

    // MARK: checkpoints

    func testCheckpointRestoresBuffers() throws {
        let dir = try temporaryDirectory()
        let seed = testSeed()
        let original = model(seed: seed)
        train(original, seed: seed &+ 1)
        let sgd = SGD(original.parameters, learningRate: 0.1, momentum: 0.9)
        try Checkpoint.save(model: original, optimizer: sgd, state: TrainingState(epoch: 1, step: 3), to: dir + "/c.safetensors")
        let file = try SafeTensors(contentsOf: dir + "/c.safetensors")
        XCTAssertEqual(file["model.4.num_batches_tracked"]?.dtype, .int64)

        let fresh = model(seed: seed &+ 2)
        let freshSGD = SGD(fresh.parameters, learningRate: 0.1, momentum: 0.9)
        try Checkpoint.restore(model: fresh, optimizer: freshSGD, from: dir + "/c.safetensors")
        for (a, b) in zip(original.namedBuffers, fresh.namedBuffers) { XCTAssertEqual(a.buffer.value, b.buffer.value, a.name) }
        for (a, b) in zip(original.namedParameters, fresh.namedParameters) { XCTAssertEqual(a.parameter.value, b.parameter.value, a.name) }

        // Layer.load reads a checkpoint's model tensors, buffers included
        let third = model(seed: seed &+ 3)
        try third.load(from: dir + "/c.safetensors")
        XCTAssertEqual(third.stateDict.map(\.value), original.stateDict.map(\.value))

        // a checkpoint without the buffers does not restore, and changes nothing
        var stripped = file
        for name in file.names where name.contains("running_") { stripped.remove(name) }
        let before = fresh.stateDict.map(\.value)
        XCTAssertThrowsError(
            try Checkpoint.restore(
                model: model(seed: 9), optimizer: SGD(model(seed: 9).parameters, learningRate: 0.1, momentum: 0.9), from: stripped)
        ) { error in
            XCTAssertTrue("\(error)".contains("missing from the file: buffer model.1.running_mean"), "\(error)")
        }
        XCTAssertEqual(fresh.stateDict.map(\.value), before)
    }
}
