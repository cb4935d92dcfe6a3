// The networks and the training step of char-lstm and gan, shared with backprop-bench's
// charlstm and gan workloads, so that the benchmark times exactly what the examples train.
import Backprop

/// char-lstm's language model: `Embedding(vocabulary, embedding)`, `LSTM(embedding → hidden)`
/// over every step, `Linear(hidden, vocabulary)` at every step:
///
///     indices [T, N] → Embedding → [T, N, embedding] → LSTM → [T, N, hidden] → Linear → [T, N, vocabulary]
///
/// Returns the LSTM too, for the callers that carry or reset its state.
public func characterLanguageModel(vocabulary: Int, embedding: Int = 64, hidden: Int = 256) -> (
    model: Sequential<Float>, lstm: LSTM<Float>
) {
    let lstm = LSTM<Float>(embedding, hidden)
    let model = Sequential<Float> {
        Embedding<Float>(vocabulary, embedding)
        lstm
        Linear<Float>(hidden, vocabulary)
    }
    return (model, lstm)
}

/// The DCGAN generator, as PyTorch's `nn.Sequential` (same parameter names), with `width`
/// channels at 14×14 and twice as many at 7×7. Plain (the `gan` workload's generator, 64 wide):
///
///     z [N, latent] Linear → [N, 2w·7·7] BatchNorm1d ReLU → reshape [N, 2w, 7, 7]
///     ConvTranspose 4×4 /2 → [N, w, 14, 14] BatchNorm2d ReLU → ConvTranspose 4×4 /2 → [N, 1, 28, 28] Sigmoid
///
/// `deep` (gan's default): a 3×3 convolution (BatchNorm2d ReLU) after the reshape and after
/// the first upsampling, and the second upsampling to w/2 channels, drawn into the image
/// by a last 3×3 convolution:
///
///     … reshape [N, 2w, 7, 7] conv 3×3 → [N, 2w, 7, 7] BatchNorm2d ReLU
///     ConvTranspose 4×4 /2 → [N, w, 14, 14] BatchNorm2d ReLU conv 3×3 → [N, w, 14, 14] BatchNorm2d ReLU
///     ConvTranspose 4×4 /2 → [N, w/2, 28, 28] BatchNorm2d ReLU conv 3×3 → [N, 1, 28, 28] Sigmoid
///
/// Each upsampling of the plain generator must place every stroke from the layer below
/// alone; the 3×3 convolutions give each resolution a layer that looks at its neighbours,
/// and the digits come out with closed loops and joined strokes (gan's score 8.2 → 8.7).
public func dcganGenerator(latent: Int = 64, width: Int = 64, deep: Bool = false) -> Sequential<Float> {
    /// A 3×3 convolution that keeps the size, BatchNorm2d, ReLU.
    func refine(_ channels: Int) -> [any Layer<Float>] {
        [Conv2D<Float>(channels, channels, kernelSize: 3, padding: 1), BatchNorm2d<Float>(channels), ReLU<Float>()]
    }
    return Sequential<Float> {
        Linear<Float>(latent, 2 * width * 7 * 7); BatchNorm1d<Float>(2 * width * 7 * 7); ReLU<Float>()
        Reshape<Float>([2 * width, 7, 7])
        if deep { refine(2 * width) }
        ConvTranspose2D<Float>(2 * width, width, kernelSize: 4, stride: 2, padding: 1); BatchNorm2d<Float>(width); ReLU<Float>()
        if deep {
            refine(width)
            ConvTranspose2D<Float>(width, width / 2, kernelSize: 4, stride: 2, padding: 1); BatchNorm2d<Float>(width / 2); ReLU<Float>()
            Conv2D<Float>(width / 2, 1, kernelSize: 3, padding: 1); Sigmoid<Float>()
        } else {
            ConvTranspose2D<Float>(width, 1, kernelSize: 4, stride: 2, padding: 1); Sigmoid<Float>()
        }
    }
}

/// The DCGAN discriminator, as PyTorch's `nn.Sequential` (same parameter names), with
/// `width` channels at 14×14 and twice as many at 7×7. Plain (the `gan` workload's, 64 wide):
///
///     [N, 1, 28, 28] conv 4×4 /2 → [N, w, 14, 14] LeakyReLU(0.2) → conv 4×4 /2 → [N, 2w, 7, 7] BatchNorm2d
///     LeakyReLU(0.2) → flatten [N, 2w·7·7] → Linear → [N, 1] logit
///
/// `deep` (gan's default, the match of the deep generator): a 3×3 convolution (BatchNorm2d,
/// LeakyReLU) at 7×7 before the flatten.
public func dcganDiscriminator(width: Int = 64, deep: Bool = false) -> Sequential<Float> {
    Sequential<Float> {
        Conv2D<Float>(1, width, kernelSize: 4, stride: 2, padding: 1); LeakyReLU<Float>(slope: 0.2)
        Conv2D<Float>(width, 2 * width, kernelSize: 4, stride: 2, padding: 1); BatchNorm2d<Float>(2 * width); LeakyReLU<Float>(slope: 0.2)
        if deep {
            Conv2D<Float>(2 * width, 2 * width, kernelSize: 3, padding: 1); BatchNorm2d<Float>(2 * width); LeakyReLU<Float>(slope: 0.2)
        }
        Flatten<Float>()
        Linear<Float>(2 * width * 7 * 7, 1)
    }
}

/// One round of a GAN's game: a discriminator step (BCE with logits on real images and on
/// detached fakes), then `generatorSteps` generator steps with the non-saturating loss
/// (the fakes labelled 1). gan trains with it; backprop-bench's gan workload times it.
public struct GANStep {
    /// What one round measured: the losses and D's logits on the real images and on the fakes `[B, 1]`.
    public struct Outcome {
        public let discriminatorLoss: Double
        public let generatorLoss: Double
        public let realLogits: Tensor<Float>
        public let fakeLogits: Tensor<Float>
    }

    public let generator: Sequential<Float>
    public let discriminator: Sequential<Float>
    public let optimizerG: Adam<Float>
    public let optimizerD: Adam<Float>
    /// D's target for real images (below 1: one-sided label smoothing).
    public let realLabel: Float
    /// Generator steps per discriminator step (the first reuses the discriminator step's fakes).
    public let generatorSteps: Int
    let bce = BCEWithLogitsLoss<Float>()

    /// Both networks get Adam with β = (0.5, 0.999), DCGAN's choice, and `learningRate`
    /// (the generator `generatorLearningRate` if given).
    public init(
        generator: Sequential<Float>, discriminator: Sequential<Float>, learningRate: Double = 2e-4,
        generatorLearningRate: Double? = nil, realLabel: Float = 1, generatorSteps: Int = 1
    ) {
        self.generator = generator
        self.discriminator = discriminator
        optimizerG = Adam(generator.parameters, learningRate: generatorLearningRate ?? learningRate, beta1: 0.5, beta2: 0.999)
        optimizerD = Adam(discriminator.parameters, learningRate: learningRate, beta1: 0.5, beta2: 0.999)
        self.realLabel = realLabel
        self.generatorSteps = generatorSteps
    }

    /// One round on the real images `real` `[B, 1, 28, 28]`; `codes(B)` draws codes z `[B, latent]`.
    public func callAsFunction(real: Tensor<Float>, codes: (Int) -> Tensor<Float>) -> Outcome {
        let b = real.shape[0]
        let ones = Tensor<Float>.ones([b, 1]), zeros = Tensor<Float>.zeros([b, 1])
        let realTargets = Tensor<Float>(repeating: realLabel, shape: [b, 1])
        let z = codes(b)
        let fake = generator.fprop(z) // [B, 1, 28, 28]

        // a. The discriminator's step: real images aim at realLabel, fakes at 0. The fakes
        //    are "detached": D's grad fills D's parameter gradients only, and nothing is
        //    sent on into G (grad does not even compute D's input gradient).
        discriminator.zeroGrad()
        let realLogits = discriminator.fprop(real)
        discriminator.grad(real, bce.backward(realLogits, realTargets))
        let fakeLogits = discriminator.fprop(fake)
        discriminator.grad(fake, bce.backward(fakeLogits, zeros))
        optimizerD.step()
        let dValue = Double(bce.forward(realLogits, realTargets) + bce.forward(fakeLogits, zeros))

        // b. The generator's steps, with the non-saturating loss −log D(G(z)). The gradient
        //    with respect to the fakes comes from D's *bprop* (∂loss/∂input only); D's *grad*
        //    is not called, so D is not trained by this step.
        var gValue = 0.0
        for gStep in 0..<generatorSteps {
            let zG = gStep == 0 ? z : codes(b)
            let fakeG = gStep == 0 ? fake : generator.fprop(zG)
            let logits = discriminator.fprop(fakeG) // D after its step
            let gradFake = discriminator.bprop(fakeG, bce.backward(logits, ones)) // ∂loss/∂fake
            generator.zeroGrad()
            generator.grad(zG, gradFake) // through G: ∂loss/∂θ_G
            optimizerG.step()
            gValue += Double(bce.forward(logits, ones)) / Double(generatorSteps)
        }
        return Outcome(discriminatorLoss: dValue, generatorLoss: gValue, realLogits: realLogits, fakeLogits: fakeLogits)
    }
}
