/// An exponential moving average of a model's weights (Polyak–Ruppert averaging; PyTorch's
/// `torch.optim.swa_utils.AveragedModel` with an EMA average and `use_buffers=True`).
///
/// After each optimizer step, `update()` moves every average a step towards the current
/// value: avg ← decay · avg + (1 − decay) · θ, for every parameter and every buffer (batch
/// norm's running statistics; a count is copied). The averages are steadier than the
/// weights the optimizer leaves after any one step and often evaluate better (stochastic
/// weight averaging; Yazıcı et al. 2019 for GAN generators; on this project's DCGAN it did
/// not raise the score: 7.55 against 7.60 after 20 epochs, decay 0.999).
/// `withAveragedWeights` swaps them into the model for a while (to sample, evaluate or
/// save) and swaps the trained ones back.
///
/// ```swift
/// let average = WeightAverage(generator, decay: 0.999)
/// // in the training loop, after optimizer.step():
/// average.update()
/// // to sample:
/// let samples = average.withAveragedWeights { generator.fprop(z) }
/// ```
public final class WeightAverage<Scalar: TensorScalar> {
    /// How much of the old average each update keeps, in [0, 1): 0.999 averages over the
    /// last thousand or so updates.
    public let decay: Scalar
    /// Updates so far.
    public private(set) var updates = 0
    private let parameters: [Parameter<Scalar>]
    private let buffers: [Buffer<Scalar>]
    private var averages: [Tensor<Scalar>]
    private var bufferAverages: [Tensor<Scalar>]

    /// Starts the averages at the model's current parameters and buffers.
    public init<L: Layer>(_ model: L, decay: Double = 0.999) where L.Scalar == Scalar {
        require(
            decay >= 0 && decay < 1,
            "WeightAverage: decay must be in [0, 1) (0 keeps only the latest weights), got \(decay)")
        self.decay = Scalar(decay)
        // each shared (tied) parameter once
        var seen = Set<ObjectIdentifier>()
        parameters = model.namedParameters.map(\.parameter).filter { seen.insert(ObjectIdentifier($0)).inserted }
        buffers = model.namedBuffers.map(\.buffer).filter { seen.insert(ObjectIdentifier($0)).inserted }
        averages = parameters.map(\.value)
        bufferAverages = buffers.map(\.value)
    }

    /// avg ← decay · avg + (1 − decay) · value, for every parameter and buffer (a count
    /// buffer takes the current value).
    public func update() {
        for (i, parameter) in parameters.enumerated() { blend(&averages[i], parameter.value, "parameter \(i)") }
        for (i, buffer) in buffers.enumerated() {
            if buffer.isCount { bufferAverages[i] = buffer.value } else { blend(&bufferAverages[i], buffer.value, "buffer \(i)") }
        }
        updates += 1
    }

    private func blend(_ average: inout Tensor<Scalar>, _ value: Tensor<Scalar>, _ what: String) {
        require(
            average.shape == value.shape,
            "WeightAverage.update: \(what) has shape \(value.shape) but its average \(average.shape): the model changed shape")
        average.scale(by: decay)
        average.add(value, scaledBy: 1 - decay)
    }

    /// Runs `body` with the averaged parameters and buffers in the model, then puts the
    /// model's own values back (also when `body` throws).
    public func withAveragedWeights<R>(_ body: () throws -> R) rethrows -> R {
        swap()
        defer { swap() }
        return try body()
    }

    /// Copies the averages into the model for good (at the end of training, before saving).
    public func copyIntoModel() {
        for (parameter, average) in zip(parameters, averages) { parameter.value = average }
        for (buffer, average) in zip(buffers, bufferAverages) { buffer.value = average }
    }

    private func swap() {
        for i in parameters.indices { Swift.swap(&parameters[i].value, &averages[i]) }
        for i in buffers.indices { Swift.swap(&buffers[i].value, &bufferAverages[i]) }
    }
}
