import Backprop
import Foundation

/// The checkpoint options every example shares, and what they do:
///
///     --save FILE              save the trained model (PyTorch names, loadable by torch)
///     --checkpoint-dir DIR     write DIR/epoch-NNN.safetensors after every epoch
///     --resume FILE            continue an interrupted run from a checkpoint
///     --load FILE              load a model (or a checkpoint) and only evaluate it
///     --save-anyway            with --save: save the model even if training diverged
///
/// The paths are checked when the options are declared (exit status 2 before any work:
/// `--save` must be writable, `--resume` and `--load` readable). During training,
/// `check(loss:…)` stops a diverged run (status 1) without saving it; a checkpoint that
/// cannot be written is reported and training goes on, so `--save` still runs.
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
/// let training = TrainingLoop(model, optimizer, checkpoints, epochs: epochs, shuffle: shuffle)   // --resume
/// training.run(on: data, batchSize: batchSize) { ...one step, training.check(loss:)... } endOfEpoch: { ... }
/// checkpoints.saveModel(model)                            // --save
/// ...figures...
/// finishRun()                                              // status 1 if a checkpoint or figure failed
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
    /// `--save-anyway`: save even a diverged model.
    public let saveAnyway: Bool
    private let program: String

    /// Declares the four options on `options` (call before `options.finish()`).
    public init(_ options: Options, program: String = (CommandLine.arguments.first as NSString?)?.lastPathComponent ?? "example") {
        self.program = program
        savePath = options.outputFile("save", "save the trained model to FILE (safetensors, PyTorch names)")
        checkpointDirectory = options.optionalString("checkpoint-dir", "write a training checkpoint to DIR after every epoch")
        if let directory = checkpointDirectory, let problem = outputDirectoryProblem(directory) {
            options.require(false, "--checkpoint-dir \(directory): \(problem)")
        }
        resumePath = options.inputFile("resume", "resume training from checkpoint FILE (same options as the run that wrote it)")
        loadPath = options.inputFile("load", "load model FILE (or a checkpoint) and evaluate it without training")
        saveAnyway = options.flag("save-anyway", "with --save: save the model even if training diverged (NaN or infinite loss)")
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
                fail(
                    "\(program): \(path) is a model file, not a training checkpoint: --load evaluates it; --resume needs a file written with --checkpoint-dir"
                )
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

    /// The likely cause of a divergence, for its message: set it once the options are
    /// known, e.g. "the learning rate --lr 10 is probably too high".
    public var divergenceCause = "the learning rate (--lr) is probably too high"

    /// The epochs left to train after `state`, `state.epoch + 1 ... epochs` (none, and a
    /// line saying so, if a resumed run has done them all). `resume` has checked that the
    /// counter cannot overflow.
    public func epochs(after state: TrainingState, through epochs: Int) -> StrideThrough<Int> {
        if resumePath != nil && state.epoch >= epochs {
            print("the checkpoint has done \(state.epoch) epochs; --epochs \(epochs) asks for no more")
        }
        return stride(from: state.epoch + 1, through: epochs, by: 1)
    }

    /// True once training diverged (`check(loss:…)` or a non-finite parameter).
    public private(set) var diverged = false

    /// Stops the run if `loss` is NaN or infinite: reports the epoch, step, value and
    /// `divergenceCause`, saves the model only with `--save-anyway`, and exits with
    /// status 1. One comparison when the loss is finite.
    @inline(__always)
    public func check<L: Layer>(loss: Double, _ model: L, epoch: Int? = nil, step: Int? = nil) {
        if !loss.isFinite { stop(model, DivergenceError(quantity: "the loss", value: loss, step: step, epoch: epoch)) }
    }

    /// Stops the run if `norm` (what `optimizer.step()` returns with clipping) is NaN or
    /// infinite. Nothing to do without clipping (nil).
    @inline(__always)
    public func check<L: Layer>(gradientNorm norm: Double?, _ model: L, epoch: Int? = nil, step: Int? = nil) {
        if let norm, !norm.isFinite { stop(model, DivergenceError(quantity: "the gradient norm", value: norm, step: step, epoch: epoch)) }
    }

    /// Stops the run if a parameter of `model` is NaN or infinite (reads every weight:
    /// once per epoch). Same report as `check(loss:…)`.
    public func checkParameters<L: Layer>(_ model: L, epoch: Int? = nil, step: Int? = nil) {
        if let (name, value) = Divergence.firstNonFinite(in: model) {
            stop(model, DivergenceError(quantity: "parameter \(name)", value: value, step: step, epoch: epoch))
        }
    }

    /// Reports a diverged run and exits with status 1 (saving the model with `--save-anyway`).
    public func stop<L: Layer>(_ model: L, _ error: DivergenceError) -> Never {
        diverged = true
        var message = "\(program): \(error); \(divergenceCause)."
        if savePath != nil && !saveAnyway {
            message += "\nThe model is not saved (its weights are not numbers any more); --save-anyway saves it all the same."
        }
        FileHandle.standardError.write((message + "\n").data(using: .utf8)!)
        if saveAnyway { saveModel(model) }
        exit(1)
    }

    /// After an epoch: checks that the weights are finite (else stops, as `check(loss:…)`),
    /// and with `--checkpoint-dir` writes `DIR/epoch-NNN.safetensors` (atomically), printing
    /// its path. A checkpoint that cannot be written is reported (`RunProblems`) and
    /// training goes on.
    public func epochFinished<L: Layer, O: CheckpointableOptimizer>(_ model: L, _ optimizer: O, _ state: TrainingState)
    where O.Scalar == L.Scalar {
        checkParameters(model, epoch: state.epoch, step: state.step)
        guard OutputFiles.written, let directory = checkpointDirectory else { return } // (rank 0 only with --distributed)
        let path = (directory as NSString).appendingPathComponent(String(format: "epoch-%03d.safetensors", state.epoch))
        if let problem = createDirectory(directory) {
            RunProblems.report("checkpoint \(path) not written: --checkpoint-dir \(directory): \(problem)")
            return
        }
        do {
            var state = state
            state.info.merge(info) { _, new in new }
            try Checkpoint.save(model: model, optimizer: optimizer, state: state, to: path)
        } catch {
            RunProblems.report("checkpoint not written (training goes on): \(error)")
            return
        }
        print("checkpoint: \(path)")
    }

    /// `--save`: writes the model (F32/F64 as trained, PyTorch names) and prints the path.
    /// A model with a non-finite weight is not saved (a divergence, see `stop`) unless
    /// `--save-anyway`. Exits with status 1 naming the option and the reason if it cannot
    /// be written.
    public func saveModel<L: Layer>(_ model: L) {
        guard OutputFiles.written, let path = savePath else { return }
        if !saveAnyway {
            if diverged { return }
            checkParameters(model)
        }
        do {
            try model.save(to: path, metadata: info)
        } catch {
            fail("\(program): --save: \(error)")
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
/// A failed write is reported (`RunProblems`), not fatal.
public func writePredictions<L: Layer>(of model: L, on data: LabeledImages<L.Scalar>, to path: String, batchSize: Int = 1000) {
    guard OutputFiles.written else { return }
    guard data.count > 0 else { RunProblems.report("--predictions \(path): the test set is empty"); return }
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
    var file = SafeTensors(metadata: ["accuracy": String(Double(correct) / Double(data.count))])
    file.add("scores", Tensor(shape: [data.count, columns], scalars: scores))
    do {
        try file.write(to: path)
    } catch {
        RunProblems.report("--predictions: \(error)")
        return
    }
    print("wrote the scores of \(data.count) examples to \(path)")
}
