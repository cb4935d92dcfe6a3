// What the digit classifiers share around a validation set: `--validation N` (digits held
// out of the training set), `--early-stopping PATIENCE`, `--augment`, the validation part of
// the epoch line, and restoring the best weights at the end.
import Backprop
import Foundation

/// `--validation N` and `--early-stopping PATIENCE`: a stratified validation split of the
/// training set, evaluated after every epoch (loss and accuracy), and early stopping on the
/// validation loss that puts the best epoch's weights back before the test evaluation and
/// `--save`.
///
/// ```swift
/// let validation = ValidationOptions(options)                  // declares the two options
/// options.finish()
/// let (train, held) = validation.split(mnist.train, seed: seed)  // exit 2 if N is too large
/// training.run(...) { ... } endOfEpoch: { _ in validation.endOfEpoch(model, loss, training) + "  test ..." }
/// validation.restoreBest(model)
/// ```
///
/// Early stopping's state is not in the checkpoints: a `--resume`d run starts watching afresh.
public final class ValidationOptions {
    /// Digits held out of the training set (0: none).
    public let count: Int
    /// Epochs without a better validation loss after which training stops, or nil.
    public let patience: Int?
    /// The held-out digits, once `split` has run (nil with `--validation 0`).
    public private(set) var data: LabeledImages<Float>?
    /// The early stopping, with `--early-stopping`.
    public let stopping: EarlyStopping<Float>?

    /// Declares `--validation` (default `defaultCount`) and `--early-stopping` (default
    /// `defaultPatience`, 0 meaning off), and checks that early stopping has a validation set.
    public init(_ options: Options, defaultCount: Int = 0, defaultPatience: Int = 0) {
        count = options.int(
            "validation", defaultCount, "digits held out of the training set for validation (stratified; 0: none)",
            range: 0...(1 << 30))
        let patience = options.int(
            "early-stopping", defaultPatience,
            "stop after PATIENCE epochs without a better validation loss, keeping the best weights (0: off; needs --validation)",
            range: 0...1_000_000)
        options.require(
            patience == 0 || count > 0, "--early-stopping \(patience) needs a validation set: give --validation N (e.g. --validation 2000)")
        self.patience = patience > 0 ? patience : nil
        stopping = patience > 0 && count > 0 ? EarlyStopping(patience: patience) : nil
    }

    /// `all` without the validation digits, and sets `self.data` to them; exits with status 2
    /// if `--validation` leaves no training digit. Without `--validation`, `all` as it is.
    /// `prepared` is applied to both sets (e.g. the convnet's padding).
    public func split(
        _ all: LabeledImages<Float>, seed: UInt64,
        prepared: (LabeledImages<Float>) -> LabeledImages<Float> = { $0 }
    ) -> LabeledImages<Float> {
        guard count > 0 else { return prepared(all) }
        do {
            let (train, held) = try all.split(validation: .count(count), seed: seed)
            data = prepared(held)
            print("validation: \(held.count) of the \(all.count) training digits held out (stratified), \(train.count) left to train on")
            return prepared(train)
        } catch {
            FileHandle.standardError.write(
                "\(programName): --validation \(count) must be less than the \(all.count) training digits\nRun with --help for the options.\n"
                    .data(using: .utf8)!)
            exit(2)
        }
    }

    /// Evaluates the model on the validation digits, tells the early stopping (which may end
    /// the run after this epoch), and returns the epoch line's part, e.g.
    /// "validation loss 0.0712 accuracy 98.10%" ("" without `--validation`).
    public func endOfEpoch<Model: Layer>(_ model: Model, _ criterion: CrossEntropyLoss<Float>, _ training: TrainingLoop<Model>) -> String
    where Model.Scalar == Float {
        guard let data else { return "" }
        let value = loss(of: model, on: data, criterion: criterion)
        let line = String(format: "validation loss %.4f accuracy %.2f%%", value, accuracy(of: model, on: data) * 100)
        guard let stopping else { return line }
        do {
            if try stopping.update(value, model: model) { training.stopAfterThisEpoch() }
        } catch {
            fail("\(programName): early stopping cannot keep the best weights: \(error)")
        }
        return line + (stopping.bestEpoch == stopping.epochs ? " (best)" : "")
    }

    /// With early stopping, puts the best epoch's weights back into `model` and says so.
    public func restoreBest<Model: Layer>(_ model: Model) where Model.Scalar == Float {
        guard let stopping, let best = stopping.best else { return }
        do {
            try stopping.restoreBest(into: model)
        } catch {
            fail("\(programName): cannot restore the best weights: \(error)")
        }
        let why = stopping.shouldStop ? "stopped after \(stopping.epochsWithoutImprovement) epochs without improvement; " : ""
        print(
            String(
                format: "early stopping: %@restored the weights of epoch %d (of this run), validation loss %.4f", why, stopping.bestEpoch,
                best))
    }
}

extension Options {
    /// `--augment`: train on digits moved by up to ±2 pixels in x and y and turned by up to
    /// ±10° (`ImageAugmentation`: a fresh draw for every digit at every step, seeded by
    /// `seed`). Returns the augmentation with the flag or with `always` (a recipe that
    /// includes it), else nil.
    public func augmentation(seed: UInt64, always: Bool = false) -> ImageAugmentation? {
        let given = flag("augment", "train on digits randomly moved (up to ±2 px) and turned (up to ±10°) at every step")
        return given || always ? ImageAugmentation(maxShift: 2, maxRotation: 10, seed: seed) : nil
    }
}

/// Training samples per second, for the last line of a run.
public func throughputLine<Model: Layer>(_ training: TrainingLoop<Model>) -> String {
    String(
        format: "trained on %d samples in %.1f s of steps: %.0f samples/s", training.samples, training.trainingSeconds,
        training.samplesPerSecond)
}
