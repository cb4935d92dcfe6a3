import Backprop
import Foundation
import XCTest

/// Saving and loading models by parameter name, atomic writes, and training checkpoints
/// that resume bit for bit.
final class CheckpointTests: XCTestCase {
    func temporaryDirectory() throws -> String {
        let dir = NSTemporaryDirectory() + "backprop-checkpoint-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }

    func mlp<S: TensorScalar>(_ sizes: [Int], seed: UInt64, _: S.Type = S.self) -> Sequential<S> {
        var rng = Random(seed: seed)
        let model = Sequential<S>()
        for (i, (fanIn, fanOut)) in zip(sizes, sizes.dropFirst()).enumerated() {
            model.add(Linear<S>(fanIn, fanOut, using: &rng))
            if i < sizes.count - 2 { model.add(Tanh<S>()) }
        }
        return model
    }

    func values<L: Layer>(_ model: L) -> [[L.Scalar]] { model.namedParameters.map(\.parameter.value.scalars) }

    // MARK: Layer.save / Layer.load

    func testSaveAndLoadByName() throws {
        let dir = try temporaryDirectory()
        let seed = testSeed()
        let original = mlp([4, 5, 3], seed: seed, Float.self)
        try original.save(to: dir + "/m.safetensors")
        let file = try SafeTensors(contentsOf: dir + "/m.safetensors")
        XCTAssertEqual(file.names, ["0.weight", "0.bias", "2.weight", "2.bias"], "PyTorch's state_dict names, in order")
        XCTAssertEqual(file["0.weight"]?.shape, [5, 4], "Linear.weight is [out, in]")
        XCTAssertEqual(file.metadata["format"], "pt")

        let copy = mlp([4, 5, 3], seed: seed &+ 1, Float.self)
        XCTAssertNotEqual(values(copy), values(original))
        try copy.load(from: dir + "/m.safetensors")
        XCTAssertEqual(values(copy), values(original))

        // F32 on disk into a Double model, and back to F32: exact both ways
        let double = mlp([4, 5, 3], seed: seed &+ 2, Double.self)
        try double.load(from: dir + "/m.safetensors")
        XCTAssertEqual(values(double), values(original).map { $0.map(Double.init) })
        try double.save(to: dir + "/d.safetensors", as: .float32)
        let again = mlp([4, 5, 3], seed: seed &+ 3, Float.self)
        try again.load(from: dir + "/d.safetensors")
        XCTAssertEqual(values(again), values(original))
    }

    func testLoadMismatchListsEveryOffendingNameAndBothShapes() throws {
        let dir = try temporaryDirectory()
        try mlp([4, 5, 3], seed: 1, Float.self).save(to: dir + "/m.safetensors")
        // layer 0 is [6, 4] instead of [5, 4]; 2.* has a different fan-in; 4.* does not exist in the file
        let other = mlp([4, 6, 3, 2], seed: 2, Float.self)
        let before = values(other)
        XCTAssertThrowsError(try other.load(from: dir + "/m.safetensors")) { error in
            guard let error = error as? StateDictError else { return XCTFail("\(error)") }
            XCTAssertEqual(error.missing.map(\.name), ["4.weight", "4.bias"])
            XCTAssertEqual(error.mismatched.map(\.name), ["0.weight", "0.bias", "2.weight"])
            XCTAssertEqual(error.unexpected.map(\.name), [])
            let text = error.description
            for expected in [
                "missing from the file: 4.weight (model shape [2, 3])", "0.weight: model [6, 4], file [5, 4]",
                "2.weight: model [3, 6], file [3, 5]", "0.bias: model [6], file [5]"
            ] {
                XCTAssertTrue(text.contains(expected), "'\(expected)' not in:\n\(text)")
            }
        }
        XCTAssertEqual(values(other), before, "a failed load changes nothing")

        let smaller = Sequential<Float> { Linear<Float>(4, 5) }
        XCTAssertThrowsError(try smaller.load(from: dir + "/m.safetensors")) { error in
            XCTAssertEqual((error as? StateDictError)?.unexpected.map(\.name), ["2.weight", "2.bias"], "\(error)")
            XCTAssertTrue("\(error)".contains("unexpected in the file: 2.weight (file shape [3, 5])"), "\(error)")
        }
    }

    // MARK: atomic writes

    /// A chunk writer that writes `budget` bytes and then fails, like a disk that fills up.
    func failingWriter(after budget: Int) -> AtomicFile.ChunkWriter {
        var left = budget
        return { descriptor, bytes in
            guard left > 0 else { throw FileWriteError(path: "simulated", reason: "No space left on device (simulated)") }
            let n = try AtomicFile.posixWrite(descriptor, UnsafeRawBufferPointer(rebasing: bytes[0..<min(left, bytes.count)]))
            left -= n
            return n
        }
    }

    func testFailedSaveLeavesThePreviousFileLoadable() throws {
        let dir = try temporaryDirectory(), path = dir + "/model.safetensors"
        let first = mlp([4, 5, 3], seed: 1, Float.self)
        try first.save(to: path)
        let savedBytes = try Data(contentsOf: URL(fileURLWithPath: path))

        let second = mlp([4, 5, 3], seed: 2, Float.self)
        var file = SafeTensors()
        second.addParameters(to: &file)
        let size = file.encoded().count
        for budget in [0, 8, size / 2, size - 1] {
            XCTAssertThrowsError(try file.write(to: path, chunkWriter: failingWriter(after: budget))) { error in
                XCTAssertTrue(error is FileWriteError, "\(error)")
                XCTAssertTrue("\(error)".contains(path) && "\(error)".contains("No space left"), "\(error)")
            }
            XCTAssertEqual(
                try Data(contentsOf: URL(fileURLWithPath: path)), savedBytes, "failed at \(budget) bytes: the old file is untouched")
            let reloaded = mlp([4, 5, 3], seed: 3, Float.self)
            try reloaded.load(from: path)
            XCTAssertEqual(values(reloaded), values(first))
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["model.safetensors"], "the temporary file is removed")
        }
        // and a save that succeeds replaces it
        try file.write(to: path, chunkWriter: failingWriter(after: size))
        let reloaded = mlp([4, 5, 3], seed: 3, Float.self)
        try reloaded.load(from: path)
        XCTAssertEqual(values(reloaded), values(second))
    }

    func testFailedCheckpointLeavesThePreviousCheckpointRestorable() throws {
        let dir = try temporaryDirectory(), path = dir + "/epoch.safetensors"
        let model = mlp([3, 4, 2], seed: 5, Double.self)
        let optimizer = Adam(model.parameters, learningRate: 0.01)
        try Checkpoint.save(model: model, optimizer: optimizer, state: TrainingState(epoch: 1, step: 10), to: path)
        let saved = values(model)
        for p in model.parameters { p.value = p.value + 1 }
        XCTAssertThrowsError(
            try Checkpoint.save(
                model: model, optimizer: optimizer, state: TrainingState(epoch: 2, step: 20),
                to: path, chunkWriter: failingWriter(after: 100)))
        let fresh = mlp([3, 4, 2], seed: 6, Double.self)
        let state = try Checkpoint.restore(model: fresh, optimizer: Adam(fresh.parameters), from: path)
        XCTAssertEqual(state.epoch, 1)
        XCTAssertEqual(state.step, 10)
        XCTAssertEqual(values(fresh), saved)
    }

    // MARK: training checkpoints

    /// Trains a small classifier for `steps` steps: mini-batches drawn by `batches`, input
    /// noise from `Random.global` (as dropout would), so both generators matter.
    func train<O: Optimizer>(
        _ model: Sequential<Float>, _ optimizer: O, steps: Int, batches: inout Random,
        data: Tensor<Float>, labels: [Int]
    ) where O.Scalar == Float {
        let loss = CrossEntropyLoss<Float>()
        for _ in 0..<steps {
            let indices = (0..<8).map { _ in Int(batches.next() % UInt64(labels.count)) }
            let x = data.gathering(rows: indices) + Tensor<Float>.normal([8, data.shape[1]], std: 0.1)
            let y = indices.map { labels[$0] }
            let scores = model.fprop(x)
            model.zeroGrad()
            model.grad(x, loss.backward(scores, y))
            optimizer.step()
        }
    }

    /// Train k steps, checkpoint, train k more; versus: a fresh model and optimizer
    /// restored from the checkpoint, k more steps. The weights and the optimizer state
    /// must be bit-identical.
    func assertResumeIsBitIdentical<O: CheckpointableOptimizer>(
        _ makeOptimizer: (Sequential<Float>) -> O,
        file: StaticString = #filePath, line: UInt = #line
    ) throws
    where O.Scalar == Float {
        let savedThreads = Threads.count
        Threads.count = 1
        defer { Threads.count = savedThreads }
        let dir = try temporaryDirectory(), path = dir + "/checkpoint.safetensors"
        let seed = testSeed()
        var dataRNG = Random(seed: seed)
        let data = Tensor<Float>.normal([40, 6], using: &dataRNG)
        let labels = (0..<40).map { _ in Int(dataRNG.next() % 3) }
        let k = 7

        Random.global = Random(seed: seed &+ 1)
        let model = mlp([6, 10, 3], seed: seed &+ 2, Float.self)
        let optimizer = makeOptimizer(model)
        var batches = Random(seed: seed &+ 3)
        train(model, optimizer, steps: k, batches: &batches, data: data, labels: labels)
        try Checkpoint.save(
            model: model, optimizer: optimizer,
            state: TrainingState(epoch: 0, step: k, generators: ["batches": batches], info: ["note": "test"]),
            to: path)
        train(model, optimizer, steps: k, batches: &batches, data: data, labels: labels)
        let globalAfterwards = Random.global

        // a fresh process, in effect: other initial weights, other global generator state
        Random.global = Random(seed: seed &+ 100)
        let resumedModel = mlp([6, 10, 3], seed: seed &+ 200, Float.self)
        let resumedOptimizer = makeOptimizer(resumedModel)
        let state = try Checkpoint.restore(model: resumedModel, optimizer: resumedOptimizer, from: path)
        XCTAssertEqual(state.step, k, file: file, line: line)
        XCTAssertEqual(state.info, ["note": "test"], file: file, line: line)
        var resumedBatches = try XCTUnwrap(state.generators["batches"], file: file, line: line)
        train(resumedModel, resumedOptimizer, steps: k, batches: &resumedBatches, data: data, labels: labels)

        XCTAssertNotEqual(
            values(model), values(mlp([6, 10, 3], seed: seed &+ 2, Float.self)), "training changed the weights", file: file, line: line)
        XCTAssertEqual(values(resumedModel), values(model), "weights after resuming", file: file, line: line)
        for ((slot, a), (_, b)) in zip(resumedOptimizer.stateBuffers, optimizer.stateBuffers) {
            XCTAssertEqual(a, b, "optimizer \(slot)", file: file, line: line)
        }
        XCTAssertEqual(resumedOptimizer.checkpointScalars, optimizer.checkpointScalars, file: file, line: line)
        XCTAssertEqual(Random.global, globalAfterwards, "Random.global was restored", file: file, line: line)
    }

    func testResumeWithSGDMomentumIsBitIdentical() throws {
        try assertResumeIsBitIdentical { SGD($0.parameters, learningRate: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-3) }
    }

    func testResumeWithAdamIsBitIdentical() throws {
        try assertResumeIsBitIdentical { Adam($0.parameters, learningRate: 0.01, weightDecay: 1e-4) }
    }

    func testResumeWithTheOtherOptimizersIsBitIdentical() throws {
        try assertResumeIsBitIdentical { AdamW($0.parameters, learningRate: 0.01, amsgrad: true, maxNorm: 1) }
        try assertResumeIsBitIdentical { Adam($0.parameters, learningRate: 0.01, amsgrad: true) }
        try assertResumeIsBitIdentical { RMSprop($0.parameters, learningRate: 0.01, momentum: 0.5, centered: true) }
        try assertResumeIsBitIdentical { Adagrad($0.parameters, learningRate: 0.1, lrDecay: 0.01) }
        // mid-schedule: the step count carries the warm-up and the cosine on
        try assertResumeIsBitIdentical {
            SGD(
                $0.parameters, learningRate: 0.1, momentum: 0.9, dampening: 0.1,
                schedule: .warmupCosine(warmup: 4, total: 20, minimum: 0.01))
        }
    }

    /// Without restoring the optimizer state (momentum) the run diverges: the test above
    /// would notice a checkpoint that forgot it.
    func testResumingWithoutOptimizerStateDiffers() throws {
        let savedThreads = Threads.count
        Threads.count = 1
        defer { Threads.count = savedThreads }
        var rng = Random(seed: 9)
        let data = Tensor<Float>.normal([20, 6], using: &rng), labels = (0..<20).map { $0 % 3 }
        Random.global = Random(seed: 1)
        let model = mlp([6, 10, 3], seed: 2, Float.self)
        let optimizer = SGD(model.parameters, learningRate: 0.1, momentum: 0.9)
        var batches = Random(seed: 3)
        train(model, optimizer, steps: 5, batches: &batches, data: data, labels: labels)
        var file = SafeTensors()
        model.addParameters(to: &file)
        let (global, savedBatches) = (Random.global, batches)
        train(model, optimizer, steps: 5, batches: &batches, data: data, labels: labels)

        let other = mlp([6, 10, 3], seed: 4, Float.self)
        try other.load(from: file)
        Random.global = global
        batches = savedBatches
        train(other, SGD(other.parameters, learningRate: 0.1, momentum: 0.9), steps: 5, batches: &batches, data: data, labels: labels)
        XCTAssertNotEqual(values(other), values(model))
    }

    func testCheckpointHoldsModelOptimizerAndGenerators() throws {
        let dir = try temporaryDirectory(), path = dir + "/c.safetensors"
        let model = mlp([3, 4, 2], seed: 1, Float.self)
        let optimizer = SGD(model.parameters, learningRate: 0.1, momentum: 0.5)
        optimizer.stepCount = 100
        Random.global = Random(seed: 77)
        try Checkpoint.save(
            model: model, optimizer: optimizer,
            state: TrainingState(epoch: 5, step: 123, generators: ["shuffle": Random(seed: 8)]), to: path)
        let file = try SafeTensors(contentsOf: path)
        XCTAssertEqual(
            Set(file.names),
            [
                "model.0.weight", "model.0.bias", "model.2.weight", "model.2.bias",
                "optimizer.state.0.momentum_buffer", "optimizer.state.1.momentum_buffer",
                "optimizer.state.2.momentum_buffer", "optimizer.state.3.momentum_buffer"
            ])
        XCTAssertEqual(file.metadata["epoch"], "5")
        XCTAssertEqual(file.metadata["step"], "123")
        XCTAssertEqual(file.metadata["optimizer"], "SGD")

        let state = try Checkpoint.state(of: file)
        XCTAssertEqual(state.generators, ["shuffle": Random(seed: 8), "global": Random(seed: 77)])

        // a checkpoint loads as a model file too (its model.* tensors)
        let copy = mlp([3, 4, 2], seed: 2, Float.self)
        try copy.load(from: path)
        XCTAssertEqual(values(copy), values(model))

        XCTAssertEqual(file.metadata["optimizer.step"], "100")
        // restoring sets the optimizer's step count and Random.global
        Random.global = Random(seed: 1)
        let restoredOptimizer = SGD(copy.parameters, learningRate: 0.1, momentum: 0.5)
        try Checkpoint.restore(model: copy, optimizer: restoredOptimizer, from: path)
        XCTAssertEqual(restoredOptimizer.stepCount, 100)
        XCTAssertEqual(Random.global, Random(seed: 77))
    }

    func testRestoreRejectsWhatDoesNotFitAndChangesNothing() throws {
        let dir = try temporaryDirectory(), path = dir + "/c.safetensors"
        let model = mlp([3, 4, 2], seed: 1, Float.self)
        try Checkpoint.save(model: model, optimizer: SGD(model.parameters, learningRate: 0.1), state: TrainingState(), to: path)

        let other = mlp([3, 4, 2], seed: 2, Float.self)
        let before = values(other)
        XCTAssertThrowsError(try Checkpoint.restore(model: other, optimizer: Adam(other.parameters), from: path)) { error in
            XCTAssertTrue("\(error)".contains("SGD optimizer, not of Adam"), "\(error)")
        }
        let wider = mlp([3, 5, 2], seed: 2, Float.self)
        XCTAssertThrowsError(try Checkpoint.restore(model: wider, optimizer: SGD(wider.parameters, learningRate: 0.1), from: path)) {
            error in
            XCTAssertTrue(error is StateDictError, "\(error)")
        }
        // optimizer over fewer parameters than the checkpoint has buffers for
        XCTAssertThrowsError(
            try Checkpoint.restore(model: other, optimizer: SGD(Array(other.parameters.prefix(2)), learningRate: 0.1), from: path)
        ) { error in
            XCTAssertTrue("\(error)".contains("unexpected: optimizer.state.2.momentum_buffer"), "\(error)")
        }
        XCTAssertEqual(values(other), before)

        // a model file is not a checkpoint
        try model.save(to: dir + "/m.safetensors")
        XCTAssertThrowsError(
            try Checkpoint.restore(model: other, optimizer: SGD(other.parameters, learningRate: 0.1), from: dir + "/m.safetensors")
        ) { error in
            XCTAssertTrue("\(error)".contains("not a training checkpoint"), "\(error)")
        }

        // corrupt generator state in the metadata
        var file = try SafeTensors(contentsOf: path)
        file.metadata["random.global"] = "0,0,0,0"
        XCTAssertThrowsError(try Checkpoint.state(of: file)) { error in
            XCTAssertTrue("\(error)".contains("random.global"), "\(error)")
        }
        file.metadata["random.global"] = nil
        file.metadata["step"] = "many"
        XCTAssertThrowsError(try Checkpoint.state(of: file)) { error in
            XCTAssertTrue("\(error)".contains("'step'"), "\(error)")
        }
    }
}
