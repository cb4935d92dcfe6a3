// Training checkpoints: everything needed to stop a run and resume it later with exactly
// the weights an uninterrupted run would have produced (same seed, one thread).
//
//   // after each epoch
//   try Checkpoint.save(model: model, optimizer: optimizer,
//                       state: TrainingState(epoch: epoch, step: step, generators: ["shuffle": shuffle]),
//                       to: "run/epoch-003.safetensors")
//   // in a fresh process, after building the same model and optimizer
//   let state = try Checkpoint.restore(model: model, optimizer: optimizer, from: "run/epoch-003.safetensors")
//   shuffle = state.generators["shuffle"]!          // and go on from epoch state.epoch + 1
//
// One safetensors file holds it all:
//
//   model.<parameter name>             the weights (PyTorch names, the model's own dtype)
//   model.<buffer name>                the buffers (running_mean, running_var; the count
//                                      num_batches_tracked as I64), as in a state dict
//   optimizer.state.<i>.<slot>         optimizer buffers for parameter i, PyTorch's slot
//                                      names: momentum_buffer (SGD, RMSprop), exp_avg,
//                                      exp_avg_sq, max_exp_avg_sq (Adam, AdamW), square_avg,
//                                      grad_avg (RMSprop), sum (Adagrad)
//   __metadata__                       backprop.checkpoint = 1, epoch, step, optimizer
//                                      (type), optimizer.epoch (derived from the step count;
//                                      informative), optimizer.step (the optimizer's step
//                                      count, which drives its schedule), optimizer.plateau.*
//                                      (reduce-on-plateau's state), optimizer.<scalar>,
//                                      random.<name> (generator states, 4 hex words),
//                                      info.<key> (free-form)
//
// Checkpoints written before every optimizer counted its steps have no optimizer.step for
// SGD: restoring one takes the run's step count (the metadata "step") instead.
//
// Writes are atomic (a temporary file, then a rename), so a checkpoint being written
// when the machine dies never damages the previous one.

/// Where a training run stands, besides its tensors: the counters and random generators
/// a checkpoint records so the run can continue exactly.
public struct TrainingState: Equatable {
    /// Epochs completed.
    public var epoch: Int
    /// Optimizer steps taken.
    public var step: Int
    /// The run's random generators by name (data order, noise, dropout). `Checkpoint.save`
    /// adds `Random.global` as "global" and `restore` puts it back.
    public var generators: [String: Random]
    /// Free-form strings stored alongside (the command line, the options).
    public var info: [String: String]

    public init(epoch: Int = 0, step: Int = 0, generators: [String: Random] = [:], info: [String: String] = [:]) {
        self.epoch = epoch
        self.step = step
        self.generators = generators
        self.info = info
    }
}

/// Saving and restoring training checkpoints (model, optimizer state, counters, random
/// generators) in one safetensors file. See the top of Checkpoint.swift for the layout.
public enum Checkpoint {
    /// Prefix of the model's tensors in a checkpoint.
    public static let modelPrefix = "model."
    /// Prefix of the optimizer's buffers: `optimizer.state.<parameter index>.<slot>`.
    public static let optimizerPrefix = "optimizer.state."
    /// The metadata key (and version) that marks a file as a training checkpoint.
    public static let versionKey = "backprop.checkpoint"
    /// The name under which `Random.global` is stored.
    public static let globalGenerator = "global"

    /// Writes a checkpoint of `model`, `optimizer` and `state` (plus `Random.global`) to
    /// `path`, atomically. `chunkWriter` is for tests that simulate a failing disk.
    public static func save<L: Layer, O: CheckpointableOptimizer>(
        model: L, optimizer: O, state: TrainingState, to path: String,
        chunkWriter: AtomicFile.ChunkWriter = AtomicFile.posixWrite
    ) throws where O.Scalar == L.Scalar {
        try file(model: model, optimizer: optimizer, state: state).write(to: path, chunkWriter: chunkWriter)
    }

    /// The checkpoint as a `SafeTensors` value (what `save` writes).
    public static func file<L: Layer, O: CheckpointableOptimizer>(model: L, optimizer: O, state: TrainingState) -> SafeTensors
    where O.Scalar == L.Scalar {
        require(
            (0...maxCount).contains(state.epoch) && (0...maxCount).contains(state.step) && (0...maxCount).contains(optimizer.stepCount),
            "Checkpoint: epoch \(state.epoch), step \(state.step) and the optimizer's step count \(optimizer.stepCount) must lie in 0...2^53"
        )
        var metadata: [String: String] = [
            "format": "pt",
            versionKey: "1",
            "epoch": String(state.epoch),
            "step": String(state.step),
            "optimizer": O.checkpointName,
            "optimizer.epoch": String(optimizer.epoch),
            "optimizer.learning_rate": String(optimizer.learningRate)
        ]
        for (key, value) in optimizer.checkpointScalars { metadata["optimizer." + key] = value }
        var generators = state.generators
        if generators[globalGenerator] == nil { generators[globalGenerator] = Random.global }
        for (name, generator) in generators { metadata["random." + name] = encode(generator) }
        for (key, value) in state.info { metadata["info." + key] = value }

        var file = SafeTensors(metadata: metadata)
        model.addState(to: &file, prefix: modelPrefix)
        for (slot, tensors) in optimizer.stateBuffers {
            for (i, tensor) in tensors.enumerated() { file.add("\(optimizerPrefix)\(i).\(slot)", tensor) }
        }
        return file
    }

    /// Restores `model` (parameters and buffers), `optimizer` and `Random.global` from the
    /// checkpoint at `path` and returns the counters and generators saved with them.
    /// Everything is checked before anything changes: on error the model and optimizer
    /// are as they were.
    @discardableResult
    public static func restore<L: Layer, O: CheckpointableOptimizer>(model: L, optimizer: O, from path: String) throws -> TrainingState
    where O.Scalar == L.Scalar {
        try restore(model: model, optimizer: optimizer, from: SafeTensors(contentsOf: path))
    }

    /// Same, from a parsed file.
    @discardableResult
    public static func restore<L: Layer, O: CheckpointableOptimizer>(model: L, optimizer: O, from file: SafeTensors) throws -> TrainingState
    where O.Scalar == L.Scalar {
        let state = try self.state(of: file)
        let kind = file.metadata["optimizer"] ?? "none"
        guard kind == O.checkpointName else {
            throw CheckpointError(file.source, "the checkpoint holds the state of a \(kind) optimizer, not of \(O.checkpointName)")
        }
        let modelValues = try model.matchState(in: file, prefix: modelPrefix)

        // The optimizer's buffers: every slot for every parameter, of its shape, nothing else.
        var buffers: [String: [Tensor<L.Scalar>]] = [:]
        var problems: [String] = []
        var expectedNames = Set<String>()
        for (slot, current) in optimizer.stateBuffers {
            var tensors: [Tensor<L.Scalar>] = []
            for (i, parameter) in optimizer.parameters.enumerated() {
                let name = "\(optimizerPrefix)\(i).\(slot)"
                expectedNames.insert(name)
                guard let entry = file[name] else { problems.append("missing: \(name) (shape \(current[i].shape))"); continue }
                guard entry.shape == parameter.value.shape else {
                    problems.append("shape mismatch: \(name): optimizer \(parameter.value.shape), file \(entry.shape)")
                    continue
                }
                tensors.append(try file.tensor(name))
            }
            buffers[slot] = tensors
        }
        for name in file.names where name.hasPrefix(optimizerPrefix) && !expectedNames.contains(name) {
            problems.append("unexpected: \(name) (shape \(file[name]!.shape))")
        }
        guard problems.isEmpty else {
            throw CheckpointError(file.source, "the optimizer state does not fit the optimizer:\n  " + problems.joined(separator: "\n  "))
        }
        var scalars: [String: String] = [:]
        for (key, value) in file.metadata where key.hasPrefix("optimizer.") { scalars[String(key.dropFirst(10))] = value }
        _ = try count("optimizer.epoch", in: file) // (derived from the step count now)
        let optimizerSteps = file.metadata["optimizer.step"] != nil ? try count("optimizer.step", in: file) : state.step
        var plateau = optimizer.plateau
        do {
            try plateau?.restore(from: scalars)
        } catch {
            throw CheckpointError(file.source, "\(error)")
        }

        // All checked: now change things.
        do {
            try optimizer.restoreState(buffers: buffers, scalars: scalars)
        } catch {
            throw CheckpointError(file.source, "\(error)")
        }
        optimizer.stepCount = optimizerSteps
        optimizer.plateau = plateau
        modelValues.apply()
        if let global = state.generators[globalGenerator] { Random.global = global }
        return state
    }

    /// The counters, generators and info of a checkpoint (no tensors are touched).
    public static func state(of file: SafeTensors) throws -> TrainingState {
        guard file.metadata[versionKey] == "1" else {
            throw CheckpointError(
                file.source,
                file.metadata[versionKey] == nil
                    ? "not a training checkpoint (no '\(versionKey)' in the metadata; a model file loads with Layer.load(from:))"
                    : "checkpoint version '\(file.metadata[versionKey]!)' is not supported (this library writes version 1)")
        }
        func integer(_ key: String) throws -> Int { try count(key, in: file) }
        var state = TrainingState(epoch: try integer("epoch"), step: try integer("step"))
        for (key, value) in file.metadata {
            if key.hasPrefix("random.") {
                guard let generator = decode(value) else {
                    throw CheckpointError(
                        file.source, "the metadata '\(key)' = '\(value)' is not a generator state (four 64-bit hex words, not all zero)")
                }
                state.generators[String(key.dropFirst(7))] = generator
            } else if key.hasPrefix("info.") {
                state.info[String(key.dropFirst(5))] = value
            }
        }
        return state
    }

    /// The largest epoch or step count a checkpoint may hold: 2^53 (the largest integer
    /// every JSON reader, and a Double, holds exactly; a run of 2^53 steps is out of reach),
    /// so that a resumed run can count on from it without overflow.
    public static let maxCount = 1 << 53

    /// The metadata `key` of `file` as a count in `0...maxCount`, or a `CheckpointError`
    /// naming the key and its value.
    static func count(_ key: String, in file: SafeTensors) throws -> Int {
        guard let text = file.metadata[key] else { throw CheckpointError(file.source, "the metadata '\(key)' is missing") }
        guard let value = Int(text) else {
            throw CheckpointError(file.source, "the metadata '\(key)' is '\(text)', not a whole number")
        }
        guard value >= 0 else { throw CheckpointError(file.source, "the metadata '\(key)' is '\(text)', a negative count") }
        guard value <= maxCount else {
            throw CheckpointError(
                file.source, "the metadata '\(key)' is '\(text)', more than the largest count a checkpoint holds (2^53 = \(maxCount))")
        }
        return value
    }

    /// `modelPrefix` if `file` is a training checkpoint, else "" (a plain model file).
    public static func modelPrefix(of file: SafeTensors) -> String {
        file.metadata[versionKey] != nil ? modelPrefix : ""
    }

    /// A generator's state as four 16-digit hex words: "0123…,…,…,…".
    static func encode(_ generator: Random) -> String {
        generator.state.map { word in
            let hex = String(word, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }.joined(separator: ",")
    }

    /// The generator written by `encode`, or nil if `text` is not one.
    static func decode(_ text: String) -> Random? {
        let words = text.split(separator: ",", omittingEmptySubsequences: false).map { UInt64($0, radix: 16) }
        guard words.count == 4, !words.contains(nil), words.contains(where: { $0 != 0 }) else { return nil }
        return Random(state: words.map { $0! })
    }
}

/// A checkpoint that cannot be restored into the given model and optimizer.
public struct CheckpointError: Error, CustomStringConvertible, Equatable {
    /// The checkpoint file (or `<memory>`).
    public let source: String
    /// What does not fit, naming the field or tensor and the values.
    public let message: String
    /// An error about `source`.
    public init(_ source: String, _ message: String) {
        self.source = source
        self.message = message
    }
    /// "source: message".
    public var description: String { "\(source): \(message)" }
}
