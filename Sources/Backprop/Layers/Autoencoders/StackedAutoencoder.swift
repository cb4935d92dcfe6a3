/// Greedy layer-wise pretraining of stacked denoising autoencoders (Bengio et al., 2007;
/// Vincent et al., 2010), the recipe that first made deep networks trainable.
///
/// The stack is a list of encoders x → σ(W₁x + b₁) → σ(W₂h₁ + b₂) → … . Layer by layer:
/// 1. corrupt the layer's input with `MaskingNoise` (the denoising criterion);
/// 2. train the encoder with a *tied* decoder (Wᵀ, its own bias) to reconstruct the clean
///    input, under cross-entropy (inputs and codes are in [0, 1]);
/// 3. encode the whole (clean) data set with the trained encoder: these codes are the
///    next layer's training data.
/// Afterwards `encoderNetwork()` stacks the trained encoders, ready to go under a
/// classifier and be fine-tuned end to end.
///
/// ```swift
/// let stack = StackedAutoencoder<Float>(sizes: [784, 1000, 1000])
/// stack.pretrain(on: mnist.train.images, noise: 0.25, epochs: 5) { Adam($0, learningRate: 1e-3) }
/// let classifier = stack.encoderNetwork().add(Linear(1000, 10))
/// ```
public final class StackedAutoencoder<Scalar: TensorScalar> {
    /// The encoders, input side first: `Linear(sizes[i], sizes[i + 1])`, each followed by a sigmoid.
    public let encoders: [Linear<Scalar>]
    /// The mean reconstruction loss (per example) of each layer's last pretraining epoch.
    public private(set) var pretrainingLosses: [Double] = []

    /// Encoders for the layer sizes `sizes` (input first), initialised from `rng`.
    public init(sizes: [Int], initializer: Initializer = .uniformFanIn, using rng: inout Random) {
        require(
            sizes.count >= 2 && sizes.allSatisfy { $0 > 0 },
            "StackedAutoencoder: needs at least two positive layer sizes, got \(sizes)")
        encoders = zip(sizes, sizes.dropFirst()).map { Linear($0, $1, initializer: initializer, using: &rng) }
    }

    /// Encoders initialised from the global generator.
    public convenience init(sizes: [Int], initializer: Initializer = .uniformFanIn) {
        self.init(sizes: sizes, initializer: initializer, using: &Random.global)
    }

    /// The encoders stacked, each followed by its sigmoid: `[N, sizes[0]] → [N, sizes.last]`.
    public func encoderNetwork() -> Sequential<Scalar> {
        Sequential(encoders.flatMap { [$0, Sigmoid<Scalar>()] as [any Layer<Scalar>] })
    }

    /// The codes of `data` after the first `depth` encoders (`[N, sizes[depth]]`), in batches.
    public func encode(_ data: Tensor<Scalar>, depth: Int? = nil, batchSize: Int = 1000) -> Tensor<Scalar> {
        var codes = data
        for encoder in encoders.prefix(depth ?? encoders.count) {
            codes = Self.mapBatches(codes, width: encoder.outputSize, batchSize: batchSize) { Sigmoid<Scalar>().fprop(encoder.fprop($0)) }
        }
        return codes
    }

    /// Pretrains every layer in turn as a denoising autoencoder.
    ///
    /// - Parameters:
    ///   - data: the training inputs `[N, sizes[0]]`, with values in [0, 1].
    ///   - noise: the masking probability of the corruption (0 gives plain autoencoders).
    ///   - epochs: passes over the data for each layer.
    ///   - batchSize: examples per mini-batch.
    ///   - seed: seeds the batch order and the corruption.
    ///   - makeOptimizer: an optimizer for one autoencoder's parameters (called once per layer).
    ///   - report: called after each epoch with (layer index, epoch, mean loss per example).
    public func pretrain(
        on data: Tensor<Scalar>, noise: Double, epochs: Int, batchSize: Int = 128, seed: UInt64 = 1,
        makeOptimizer: ([Parameter<Scalar>]) -> any Optimizer<Scalar>,
        report: (Int, Int, Double) -> Void = { _, _, _ in }
    ) {
        require(
            data.rank == 2 && data.shape[1] == encoders[0].inputSize,
            "StackedAutoencoder.pretrain: expects data [N, \(encoders[0].inputSize)], got \(data.shape)")
        require(epochs >= 1 && batchSize >= 1, "StackedAutoencoder.pretrain: epochs and batchSize must be positive")
        var shuffle = Random(seed: seed)
        var inputs = data // what layer i learns to reconstruct
        pretrainingLosses = []
        for (i, encoder) in encoders.enumerated() {
            // the denoising autoencoder of layer i: corrupt, encode, decode with the tied weight
            let autoencoder = Sequential<Scalar> {
                MaskingNoise<Scalar>(noise, seed: seed &+ UInt64(i) &+ 100)
                encoder
                Sigmoid<Scalar>()
                Linear<Scalar>(tiedTo: encoder) // logits of the reconstruction
            }
            let loss = BCEWithLogitsLoss<Scalar>(reduction: .batchMean)
            let optimizer = makeOptimizer(autoencoder.parameters)
            var epochLoss = 0.0
            for epoch in 1...epochs {
                let order = shuffle.permutation(inputs.shape[0])
                var total = 0.0
                for start in stride(from: 0, to: order.count, by: batchSize) {
                    let batch = inputs.gathering(rows: Array(order[start..<min(start + batchSize, order.count)]))
                    let logits = autoencoder.fprop(batch)
                    total += Double(loss.forward(logits, batch)) * Double(batch.shape[0])
                    autoencoder.zeroGrad()
                    autoencoder.grad(batch, loss.backward(logits, batch)) // the clean batch is the target
                    optimizer.step()
                }
                epochLoss = total / Double(order.count)
                report(i, epoch, epochLoss)
            }
            pretrainingLosses.append(epochLoss)
            // the clean codes of this layer are the next layer's data
            if i + 1 < encoders.count {
                inputs = Self.mapBatches(inputs, width: encoder.outputSize, batchSize: 1000) { Sigmoid<Scalar>().fprop(encoder.fprop($0)) }
            }
        }
    }

    /// `body` applied to `data` `[N, ·]` in batches of rows, giving `[N, width]`.
    static func mapBatches(
        _ data: Tensor<Scalar>, width: Int, batchSize: Int,
        _ body: (Tensor<Scalar>) -> Tensor<Scalar>
    ) -> Tensor<Scalar> {
        let n = data.shape[0]
        var out = Tensor<Scalar>(uninitialized: [n, width])
        out.withUnsafeMutablePointer { dst in
            for start in stride(from: 0, to: n, by: batchSize) {
                let part = body(data[rows: start..<min(start + batchSize, n)])
                part.withUnsafePointer { Scalar.copy($0, dst + start * width, part.count) }
            }
        }
        return out
    }
}
