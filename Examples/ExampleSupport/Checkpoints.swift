import Backprop
import Foundation

/// The checkpoint options every example shares, and what they do:
///
///     --save FILE              save the trained model (PyTorch names, loadable by torch)
///     --checkpoint-dir DIR     write DIR/epoch-NNN.safetensors after every epoch
///     --resume FILE            continue an interrupted run from a checkpoint
///     --load FILE              load a model (or a checkpoint) and only evaluate it
///
/// In an example (errors are reported and exit; nothing here throws):
///
/// ```swift
/// let checkpoints = CheckpointOptions(options)            // before options.finish()
/// ...build model, optimizer, and the data-order generator `shuffle`...
/// if checkpoints.evaluateOnly {                           // --load
///     checkpoints.loadModel(model)
///     ...evaluate, print...
///     checkpoints.saveModel(model)                        // --save (e.g. to convert a checkpoint)
///     exit(0)
/// }
/// var state = TrainingState()
/// if let resumed = checkpoints.resume(model, optimizer, generators: ["shuffle"]) {
///     state = resumed
///     shuffle = resumed.generators["shuffle"]!
/// }
/// for epoch in state.epoch + 1 ... epochs {               // (skip when already done)
///     ...train, counting state.step...
///     state.epoch = epoch
///     state.generators["shuffle"] = shuffle
///     checkpoints.epochFinished(model, optimizer, state)  // --checkpoint-dir
/// }
/// checkpoints.saveModel(model)                            // --save
/// ```
public final class CheckpointOptions {
    /// `--save FILE`: where the final model goes.
    public let savePath: String?
    /// `--checkpoint-dir DIR`: where per-epoch checkpoints go.
    public let checkpointDirectory: String?
    /// `--resume FILE`: the checkpoint to continue from.
    public let resumePath: String?
    /// `--load FILE`: the model to evaluate.
    public let loadPath: String?
    private let program: String

    /// Declares the four options on `options` (call before `options.finish()`).
    public init(_ options: Options, program: String = (CommandLine.arguments.first as NSString?)?.lastPathComponent ?? "example") {
        self.program = program
        savePath = options.optionalString("save", "save the trained model to FILE (safetensors, PyTorch names)")
        checkpointDirectory = options.optionalString("checkpoint-dir", "write a training checkpoint to DIR after every epoch")
        resumePath = options.optionalString("resume", "resume training from checkpoint FILE (same options as the run that wrote it)")
        loadPath = options.optionalString("load", "load model FILE (or a checkpoint) and evaluate it without training")
        options.require(!(loadPath != nil && resumePath != nil), "--load evaluates a model and --resume trains one: give only one of them")
        options.require(!(loadPath != nil && checkpointDirectory != nil), "--load does not train, so --checkpoint-dir has nothing to write")
    }

    /// True with `--load`: evaluate, do not train.
    public var evaluateOnly: Bool { loadPath != nil }

    /// What the checkpoints record about the run: the command line.
    var info: [String: String] { ["command": CommandLine.arguments.joined(separator: " ")] }

    /// `--load`: loads the weights into `model` by name, or exits explaining the mismatch.
    public func loadModel<L: Layer>(_ model: L) {
        guard let path = loadPath else { return }
        do {
            try model.load(from: path)
        } catch {
            fail("\(program): cannot load \(path):\n\(error)\(hint(path))")
        }
        print("loaded \(model.parameterCount) parameters from \(path)")
    }

    /// `--resume`: restores model, optimizer and `Random.global` from the checkpoint and
    /// returns its state, or nil without `--resume`. Exits with the reason if the file does
    /// not fit, or lacks one of the `generators` the example needs.
    public func resume<L: Layer, O: CheckpointableOptimizer>(_ model: L, _ optimizer: O, generators: [String] = []) -> TrainingState?
    where O.Scalar == L.Scalar {
        guard let path = resumePath else { return nil }
        let state: TrainingState
        do {
            let file = try SafeTensors(contentsOf: path)
            guard file.metadata[Checkpoint.versionKey] != nil else {
                fail("\(program): \(path) is a model file, not a training checkpoint: --load evaluates it; --resume needs a file written with --checkpoint-dir")
            }
            state = try Checkpoint.restore(model: model, optimizer: optimizer, from: file)
        } catch {
            fail("\(program): cannot resume from \(path):\n\(error)\(hint(path))")
        }
        if let missing = generators.first(where: { state.generators[$0] == nil }) {
            fail("\(program): \(path) has no state for the random generator '\(missing)'; it was not written by this example")
        }
        print("resumed from \(path): \(state.epoch) epochs (\(state.step) steps) done")
        return state
    }

    /// After an epoch: with `--checkpoint-dir`, writes `DIR/epoch-NNN.safetensors`
    /// (atomically) and prints its path. Exits if it cannot be written.
    public func epochFinished<L: Layer, O: CheckpointableOptimizer>(_ model: L, _ optimizer: O, _ state: TrainingState)
    where O.Scalar == L.Scalar {
        guard let directory = checkpointDirectory else { return }
        let path = (directory as NSString).appendingPathComponent(String(format: "epoch-%03d.safetensors", state.epoch))
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            var state = state
            state.info.merge(info) { _, new in new }
            try Checkpoint.save(model: model, optimizer: optimizer, state: state, to: path)
        } catch {
            fail("\(program): cannot write checkpoint: \(error)")
        }
        print("checkpoint: \(path)")
    }

    /// `--save`: writes the model (F32/F64 as trained, PyTorch names) and prints the path.
    public func saveModel<L: Layer>(_ model: L) {
        guard let path = savePath else { return }
        do {
            try model.save(to: path, metadata: info)
        } catch {
            fail("\(program): \(error)")
        }
        print("saved the model to \(path)")
    }

    /// The command that wrote `path`, if it says, to help match the options.
    private func hint(_ path: String) -> String {
        guard let file = try? SafeTensors(contentsOf: path) else { return "" }
        let command = file.metadata["command"] ?? file.metadata["info.command"]
        return command.map { "\n(the file was written by: \($0); build the model with the same options)" } ?? ""
    }
}

/// Writes `model`'s scores for every example of `data` (`[N, classes]`, in order) to a
/// safetensors file under the name `scores`, with the predicted classes' accuracy in the
/// metadata. For comparing predictions with another implementation (Scripts/torch-roundtrip.py).
public func writePredictions<L: Layer>(of model: L, on data: LabeledImages<L.Scalar>, to path: String, batchSize: Int = 1000) {
    let wasTraining = model.isTraining
    model.isTraining = false
    defer { model.isTraining = wasTraining }
    var scores: [L.Scalar] = []
    var columns = 0
    var correct = 0
    for (images, labels) in data.batches(size: batchSize) {
        let output = model.fprop(images)
        columns = output.matrixShape.cols
        scores += output.scalars
        correct += zip(output.argmax(), labels).filter { $0 == $1 }.count
    }
    var file = SafeTensors(metadata: ["accuracy": String(Double(correct) / Double(max(data.count, 1)))])
    file.add("scores", Tensor(shape: [data.count, columns], scalars: scores))
    do {
        try file.write(to: path)
    } catch {
        fail("\(error)")
    }
    print("wrote the scores of \(data.count) examples to \(path)")
}
