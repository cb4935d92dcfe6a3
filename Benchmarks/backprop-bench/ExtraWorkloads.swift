import Backprop
import ExampleSupport

extension Workloads {
    /// The convolutional and recurrent image networks.
    static func extraNetwork(_ name: String) -> Network {
        switch name {
        case "resnet":
            // stem, 3 stages of 2 basic blocks (16/32/64 channels), global average pool: the peer's resnet()
            let model = Sequential<Float> {
                Conv2D<Float>(1, 16, kernelSize: 3, padding: 1, bias: false); BatchNorm2d<Float>(16); ReLU<Float>()
                basicBlock(16, 16, stride: 1); basicBlock(16, 16, stride: 1)
                basicBlock(16, 32, stride: 2); basicBlock(32, 32, stride: 1)
                basicBlock(32, 64, stride: 2); basicBlock(64, 64, stride: 1)
                AvgPool2D<Float>(7); Flatten<Float>()
                Linear<Float>(64, 10)
            }
            return Network(model: model, batch: 64, loss: .crossEntropy) { $0.reshaped([-1, 1, 28, 28]) }
        case "convnet":
            // [B, 784] → [B, 1, 32, 32]: MNIST zero-padded by 2, done once outside the timed loop
            let pad = Pad2D<Float>(2)
            return Network(model: lectureConvnet(), batch: 64, loss: .crossEntropy) { pad.fprop($0.reshaped([-1, 1, 28, 28])) }
        default: // "lstm": rows as time steps, [B, 784] → [28, B, 28] inside the model, as the peer does
            let model = Sequential<Float> {
                TimeMajor<Float>(steps: 28)
                LSTM<Float>(28, 128)
                LastStep<Float>()
                Linear<Float>(128, 10)
            }
            return Network(model: model, batch: 64, loss: .crossEntropy) { $0 }
        }
    }

    /// charlstm: char-lstm's network (Embedding(V, 64), LSTM(64 → 256), Linear(256, V) at
    /// every step) on 32 random windows of 100 characters, indices `[100, 32]` → scores
    /// `[100, 32, V]`; cross-entropy over all steps, Adam lr 2e-3 with the gradient's global
    /// norm clipped at 5. A sample is a sequence. The windows are drawn inside the step, as
    /// the peer draws them.
    static func characterLSTM(_ corpus: CharacterCorpus) -> Workload {
        let (model, _) = characterLanguageModel(vocabulary: corpus.vocabularySize, embedding: 64, hidden: 256)
        let loss = CrossEntropyLoss<Float>()
        let adam = Adam(model.parameters, learningRate: 2e-3, maxGradientNorm: 5)
        let length = 100, batch = 32
        var windows = Random(seed: 0)
        return Workload(batch: batch) { _ in
            let (inputs, targets): (Tensor<Float>, [Int]) = corpus.randomBatch(length: length, batchSize: batch, using: &windows)
            let scores = model.fprop(inputs) // [T, N, V]
            _ = loss.forward(scores, targets)
            model.zeroGrad()
            model.grad(inputs, loss.backward(scores, targets))
            adam.step()
        }
    }

    /// gan: gan's DCGAN pair with the layers' default weights and no label smoothing, one
    /// discriminator step then one generator step per batch of 64 real digits `[64, 1, 28, 28]`
    /// (GANStep, the example's round), codes z `[64, 64]` ~ N(0, I) drawn inside the step.
    /// A sample is a real image.
    static func gan(train: LabeledImages<Float>) -> Workload {
        let batch = 64
        let reals = inMemoryBatches(train, batch: batch).map { $0.images.reshaped([-1, 1, 28, 28]) }
        let game = GANStep(generator: dcganGenerator(latent: 64), discriminator: dcganDiscriminator(), learningRate: 2e-4)
        var noise = Random(seed: 2)
        return Workload(batch: batch) { i in
            _ = game(real: reals[i % reals.count]) { Tensor<Float>.normal([$0, 64], using: &noise) }
        }
    }

    /// A ResNet basic block, conv3×3-BN-ReLU-conv3×3-BN plus the shortcut (a 1×1 conv + BN
    /// projection when the stride or the width changes), then ReLU:
    /// [N, cin, H, W] → [N, cout, H/stride, W/stride].
    static func basicBlock(_ cin: Int, _ cout: Int, stride: Int) -> Sequential<Float> {
        let shortcut: (any Layer<Float>)? =
            stride != 1 || cin != cout
            ? Sequential<Float> {
                Conv2D<Float>(cin, cout, kernelSize: 1, stride: stride, bias: false); BatchNorm2d<Float>(cout)
            }
            : nil
        return Sequential<Float> {
            Residual<Float>(shortcut: shortcut) {
                Conv2D<Float>(cin, cout, kernelSize: 3, stride: stride, padding: 1, bias: false); BatchNorm2d<Float>(cout); ReLU<Float>()
                Conv2D<Float>(cout, cout, kernelSize: 3, padding: 1, bias: false); BatchNorm2d<Float>(cout)
            }
            ReLU<Float>()
        }
    }
}
