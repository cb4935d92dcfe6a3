// Early stopping: watch a validation metric, stop after `patience` epochs without
// improvement, and keep (then restore) the weights of the best epoch.

/// Early stopping on a validation metric (the lecture notes' rule): after each epoch,
/// `update` it with the epoch's validation loss (mode `.min`) or accuracy (`.max`). A value
/// better than the best so far by more than `minDelta` is an improvement: the model's
/// parameters and buffers (a BatchNorm's running statistics too) are kept, as a copy in
/// memory, or written to `checkpointPath` if one is given. After `patience` epochs in a row
/// without improvement `shouldStop` becomes true; `restoreBest(into:)` then puts the best
/// weights back.
///
/// ```swift
/// let stopping = EarlyStopping<Float>(patience: 3, minDelta: 1e-4)
/// for epoch in 1...epochs {
///     train(epoch)
///     if try stopping.update(loss(of: model, on: validation, criterion: criterion), model: model) { break }
/// }
/// try stopping.restoreBest(into: model)
/// ```
public final class EarlyStopping<Scalar: TensorScalar> {
    /// Whether smaller (a loss) or larger (an accuracy) values are better.
    public enum Mode: Sendable { case min, max }

    /// Epochs without improvement after which to stop (at least 1).
    public let patience: Int
    /// How much better than the best a value must be to count as an improvement (≥ 0).
    public let minDelta: Double
    /// Whether the metric is minimised or maximised.
    public let mode: Mode
    /// Where the best weights are written (a safetensors file), or nil to keep them in memory.
    public let checkpointPath: String?

    /// The best value so far, and the epoch (the count of `update` calls, 1-based) it came in.
    public private(set) var best: Double?, bestEpoch = 0
    /// Updates so far.
    public private(set) var epochs = 0
    /// Updates in a row without improvement.
    public private(set) var epochsWithoutImprovement = 0
    /// True once `patience` updates in a row brought no improvement.
    public var shouldStop: Bool { epochsWithoutImprovement >= patience }

    private var saved: [(name: String, value: Tensor<Scalar>)] = []

    /// Stops after `patience` epochs without an improvement of more than `minDelta`.
    public init(patience: Int, minDelta: Double = 0, mode: Mode = .min, checkpointPath: String? = nil) {
        require(patience >= 1, "EarlyStopping: patience must be at least 1 epoch, got \(patience)")
        require(minDelta >= 0 && minDelta.isFinite, "EarlyStopping: minDelta must be finite and ≥ 0, got \(minDelta)")
        require(checkpointPath?.isEmpty != true, "EarlyStopping: checkpointPath must not be empty")
        (self.patience, self.minDelta, self.mode, self.checkpointPath) = (patience, minDelta, mode, checkpointPath)
    }

    /// Whether `value` improves on the best so far by more than `minDelta` (any finite first value does).
    public func isImprovement(_ value: Double) -> Bool {
        guard value.isFinite else { return false }
        guard let best else { return true }
        return mode == .min ? value < best - minDelta : value > best + minDelta
    }

    /// Records the epoch's `value`; on an improvement keeps `model`'s weights (throws only
    /// if the checkpoint file cannot be written). Returns `shouldStop`. A NaN is never an
    /// improvement.
    @discardableResult
    public func update<L: Layer>(_ value: Double, model: L) throws -> Bool where L.Scalar == Scalar {
        epochs += 1
        if isImprovement(value) {
            best = value
            bestEpoch = epochs
            epochsWithoutImprovement = 0
            if let checkpointPath {
                try model.save(to: checkpointPath) // the model's own type: nothing rounded
            } else {
                // copies of the storage (not shared): the optimizer then updates the model in place
                saved = model.stateDict.map {
                    ($0.name, Tensor(shape: $0.value.shape, scalars: $0.value.scalars.withUnsafeBufferPointer { Array($0) }))
                }
            }
        } else {
            epochsWithoutImprovement += 1
        }
        return shouldStop
    }

    /// Puts the best epoch's parameters and buffers back into `model` (the model they came
    /// from, or one of the same architecture). Throws a `StateDictError` if they do not fit
    /// (or an error reading the checkpoint file); does nothing if no value improved yet.
    public func restoreBest<L: Layer>(into model: L) throws where L.Scalar == Scalar {
        guard best != nil else { return }
        if let checkpointPath {
            try model.load(from: checkpointPath)
            return
        }
        let values = Dictionary(saved, uniquingKeysWith: { a, _ in a })
        var error = StateDictError(source: "EarlyStopping (best weights of epoch \(bestEpoch))")
        let parameters = model.namedParameters, buffers = model.namedBuffers
        let current = parameters.map { ($0.name, $0.parameter.value.shape) } + buffers.map { ($0.name, $0.buffer.value.shape) }
        for (name, shape) in current {
            guard let value = values[name] else { error.missing.append((name, shape)); continue }
            if value.shape != shape { error.mismatched.append((name, shape, value.shape)) }
        }
        let names = Set(current.map(\.0))
        error.unexpected = saved.filter { !names.contains($0.name) }.map { ($0.name, $0.value.shape) }
        if !error.isEmpty { throw error }
        for (name, parameter) in parameters { parameter.value = values[name]! }
        for (name, buffer) in buffers { buffer.value = values[name]! }
    }
}
