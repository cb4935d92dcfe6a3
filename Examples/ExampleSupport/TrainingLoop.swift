import Backprop
import Foundation

/// The epochs of an example's training, with the bookkeeping that is the same in all of
/// them: `--resume`, the epochs left, training mode, the optimizer's steps per epoch, the shuffled
/// batches, the progress line, the step count, the checkpoint after every epoch
/// (`--checkpoint-dir`, with the weights checked finite). The example keeps what is its
/// own: the model, the loss, and one step on a batch.
///
/// ```swift
/// let training = TrainingLoop(model, optimizer, checkpoints, epochs: epochs, shuffle: Random(seed: seed &+ 1))
/// training.run(on: mnist.train, batchSize: batchSize) { images, labels in
///     let scores = model.fprop(images)
///     let value = Double(loss.forward(scores, labels))
///     training.check(loss: value)                          // a NaN stops the run
///     model.zeroGrad()
///     model.grad(images, loss.backward(scores, labels))
///     optimizer.step()
///     return value                                         // for the progress line
/// } endOfEpoch: { _ in
///     let testAccuracy = accuracy(of: model, on: mnist.test)
///     training.record(metric: "test accuracy", value: testAccuracy * 100, unit: "%")   // for the curves
///     return String(format: "test accuracy %.2f%%", testAccuracy * 100)
/// }
/// checkpoints.saveModel(model)                             // --save
/// training.curves.write(to: outDir)                        // <example>-curves.svg
/// ```
public final class TrainingLoop<Model: Layer> {
    /// A random generator the run saves in its checkpoints and restores on `--resume`.
    public struct Generator {
        let get: () -> Random
        let set: (Random) -> Void
        /// The generator at `owner[keyPath: path]`, e.g. `.init(corruption, \.rng)`.
        public init<Owner: AnyObject>(_ owner: Owner, _ path: ReferenceWritableKeyPath<Owner, Random>) {
            get = { owner[keyPath: path] }
            set = { owner[keyPath: path] = $0 }
        }
    }

    /// Epochs and steps done, and the generators: what a checkpoint records besides the
    /// weights and the optimizer.
    public private(set) var state = TrainingState()
    /// The epoch being trained (1-based), 0 before the first.
    public private(set) var epoch = 0
    /// Samples trained on by this run, and the seconds spent in the steps (evaluation excluded).
    public private(set) var samples = 0, trainingSeconds = 0.0
    /// Every step's loss (under the run's `title`) and the metrics given to `record(metric:…)`.
    public let curves: Curves

    private let model: Model
    private let checkpoints: CheckpointOptions
    private let epochs: Int
    private let title: String
    private let checkpointed: Bool
    private var shuffle: Random
    private let generators: KeyValuePairs<String, Generator>
    private let setStepsPerEpoch: (Int) -> Void
    private let writeCheckpoint: (TrainingState) -> Void

    /// Prepares the run of `epochs` epochs, and with `--resume` restores the model, the
    /// optimizer, `shuffle` (the batch order) and the other `generators` from the checkpoint.
    ///
    /// - `title`: put before "epoch N/M" in the progress line.
    /// - `checkpointed: false`: a run that `--resume`, `--checkpoint-dir` and `--save-anyway`
    ///   do not concern (a divergence stops it with a message naming `title`).
    /// - `setsOptimizerEpoch: false`: leaves `optimizer.stepsPerEpoch` unset, so that the
    ///   optimizer's epoch stays 0 (the examples without a schedule whose checkpoints have
    ///   always recorded 0). Otherwise it is set to the batches per epoch, from which the
    ///   optimizer derives the epoch its schedule reads.
    /// - `curves`: where the steps' losses go (several runs may share one).
    public init<Opt: CheckpointableOptimizer>(
        _ model: Model, _ optimizer: Opt, _ checkpoints: CheckpointOptions, epochs: Int, shuffle: Random,
        generators: KeyValuePairs<String, Generator> = [:], title: String = "",
        checkpointed: Bool = true, setsOptimizerEpoch: Bool = true, curves: Curves = Curves()
    ) where Opt.Scalar == Model.Scalar {
        self.curves = curves
        (self.model, self.checkpoints, self.epochs, self.title) = (model, checkpoints, epochs, title)
        (self.checkpointed, self.shuffle, self.generators) = (checkpointed, shuffle, generators)
        setStepsPerEpoch = setsOptimizerEpoch ? { optimizer.stepsPerEpoch = $0 } : { _ in }
        writeCheckpoint = checkpointed ? { checkpoints.epochFinished(model, optimizer, $0) } : { _ in } // weights finite? --checkpoint-dir
        if checkpointed, let resumed = checkpoints.resume(model, optimizer, generators: ["shuffle"] + generators.map(\.key)) {
            state = resumed
            self.shuffle = resumed.generators["shuffle"]!
            for (name, generator) in generators { generator.set(resumed.generators[name]!) }
        }
    }

    /// Trains the epochs left: for each, `step` on every shuffled batch of `data` (it
    /// returns the batch's loss, for the progress line), then `endOfEpoch(epoch)` (the
    /// evaluation: what it returns ends the epoch's line), then the checkpoint. Stops early
    /// after an epoch in which `stopAfterThisEpoch()` was called.
    ///
    /// The next batch is gathered, and given to `prepare(images, step)` if set (an
    /// augmentation; `step` is the number of the step it is for), on a worker thread while
    /// the current one trains (`MiniBatches.prefetched`): the same batches as without
    /// prefetching, bit for bit.
    public func run(
        on data: LabeledImages<Model.Scalar>, batchSize: Int,
        prepare: ((_ images: Tensor<Model.Scalar>, _ step: Int) -> Tensor<Model.Scalar>)? = nil,
        step: (_ images: Tensor<Model.Scalar>, _ labels: [Int]) -> Double,
        endOfEpoch: (_ epoch: Int) -> String
    ) {
        setStepsPerEpoch((data.count + batchSize - 1) / batchSize) // (the schedule's epoch)
        for epoch in checkpoints.epochs(after: state, through: epochs) { // (what --resume left)
            self.epoch = epoch
            model.isTraining = true
            let progress = ProgressLine((title.isEmpty ? "" : title + " ") + "epoch \(epoch)/\(epochs)", total: data.count)
            let clock = Stopwatch()
            for (images, labels) in data.batches(size: batchSize, using: &shuffle).prefetched(startIndex: state.step + 1, prepare: prepare)
            {
                state.step += 1
                let loss = step(images, labels)
                curves.record(step: state.step, loss: loss, run: title)
                progress.update(samples: labels.count, loss: loss)
                samples += labels.count
            }
            trainingSeconds += clock.seconds
            progress.finish(endOfEpoch(epoch))
            state.epoch = epoch
            state.generators["shuffle"] = shuffle
            for (name, generator) in generators { state.generators[name] = generator.get() }
            writeCheckpoint(state)
            if stopRequested { break }
        }
    }

    /// Records the metric `name` (in `unit`, e.g. "%") of the epoch being trained, for the
    /// curves; call it from `endOfEpoch`.
    public func record(metric name: String, value: Double, unit: String = "") {
        curves.record(metric: name, value: value, unit: unit, at: Double(epoch), run: title)
    }

    /// Ends the run after the current epoch (its evaluation and checkpoint included), as
    /// early stopping does.
    public func stopAfterThisEpoch() { stopRequested = true }
    private var stopRequested = false

    /// Training samples per second of step time (evaluation excluded), over this run.
    public var samplesPerSecond: Double { Double(samples) / max(trainingSeconds, 1e-9) }

    /// Stops the run if `loss` is NaN or infinite (see `CheckpointOptions.check(loss:…)`),
    /// naming the epoch and step. Call it before the gradient, so that `--save-anyway`
    /// saves the weights the loss came from.
    @inline(__always)
    public func check(loss: Double) {
        if checkpointed {
            checkpoints.check(loss: loss, model, epoch: epoch, step: state.step)
        } else if !loss.isFinite { // (nothing of it is saved)
            fail(
                "\(programName): \(title): \(DivergenceError(quantity: "the loss", value: loss, step: state.step, epoch: epoch)); \(checkpoints.divergenceCause)."
            )
        }
    }

    /// Stops the run if `norm`, what `optimizer.step()` returns with clipping, is NaN or infinite.
    @inline(__always)
    public func check(gradientNorm norm: Double?) {
        checkpoints.check(gradientNorm: norm, model, epoch: epoch, step: state.step)
    }
}
