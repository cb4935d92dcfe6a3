// vae: a variational autoencoder (Kingma & Welling, 2014) of MNIST digits.
//
//   swift run -c release vae [--latent 20] [--epochs 50] [--out DIR]
//   swift run -c release vae --latent 2          # also draws the 2-D manifold of digits
//   swift run -c release vae --save vae.safetensors              # keep the trained model
//   swift run -c release vae --load vae.safetensors              # evaluate it, no training
//   swift run -c release vae --checkpoint-dir ckpt               # a checkpoint every epoch
//   swift run -c release vae --resume ckpt/epoch-003.safetensors # continue a run
//
// The encoder does not give one code for a digit but a Gaussian over codes: a mean μ and a
// log-variance log σ² for each of the k latent units. `GaussianSample` draws
// z = μ + σ · ε (ε from a seeded N(0, I)), and the decoder turns z into the logits of the
// 784 pixels. Training minimises the negative evidence lower bound (ELBO), per digit:
//
//     −ELBO = E_q[−log p(x | z)]  +  KL(q(z | x) ‖ N(0, I))
//             reconstruction        the KL term, which GaussianSample adds on the way back
//
// so that codes of digits fill the standard normal: decoding z ~ N(0, I) gives new digits.
// (Pixels are grey levels in [0, 1] used as Bernoulli targets, as in the paper's MNIST
// experiments; the bound is in nats per digit.)

import Backprop
import ExampleSupport
import Foundation

// 1. Options.
let options = Options("vae", "a variational autoencoder 784-400-(2k) | z | k-400-784 of MNIST digits")
let dataOption = options.mnistData() // checked now: every file there
let latent = options.int("latent", 20, "k, the number of latent units", range: Limits.layerSize)
let hidden = options.int("hidden", 400, "hidden units of the encoder and of the decoder", range: Limits.layerSize)
let epochs = options.int("epochs", 50, "passes over the training set", range: Limits.epochs)
let batchSize = options.int("batch", 100, "examples per mini-batch", range: Limits.batchSize)
let learningRate = options.double("lr", 1e-3, "Adam learning rate")
let seed = options.seed(1, "random seed")
let threads = options.threads()
let outDir = options.outputDirectory("out", ".", "directory for the figures and the training curves")
let checkpoints = CheckpointOptions(options) // --save, --checkpoint-dir, --resume, --load
options.require(learningRate > 0, "--lr must be positive")
options.requireParameterCount(Double(hidden) * (2 * 785 + 3 * Double(latent)), "--hidden and --latent")
options.requireActivations(batch: batchSize, width: max(hidden, 784), "--batch and --hidden")
options.finish()
Threads.count = threads
let clock = Stopwatch()

// 2. Data.
let mnist = loadMNISTDigits(dataOption)
let test = mnist.test.images

// 3. The model: encoder → GaussianSample → decoder. The encoder's last layer gives μ and
//    log σ² side by side ([B, 2k]); the decoder gives pixel logits ([B, 784]).
var rng = Random(seed: seed)
let encoder = Sequential<Float> {
    Linear<Float>(784, hidden, using: &rng); ReLU<Float>()
    Linear<Float>(hidden, 2 * latent, using: &rng)
}
let sampler = GaussianSample<Float>(latent, reduction: .batchMean, seed: seed &+ 11) // KL per digit
let decoder = Sequential<Float> {
    Linear<Float>(latent, hidden, using: &rng); ReLU<Float>()
    Linear<Float>(hidden, 784, using: &rng)
}
let vae = Sequential<Float> {
    encoder; sampler; decoder
}
print(vae.description.replacingOccurrences(of: "[input ->", with: "[input [\(batchSize), 784] ->"))

// 4. Training: reconstruction loss (cross-entropy from logits, per digit) + KL (per digit).
let reconstructionLoss = BCEWithLogitsLoss<Float>(reduction: .batchMean)
let optimizer = Adam(vae.parameters, learningRate: learningRate)

/// The negative ELBO per digit on `data` (one sample of z per digit), with its two parts.
@MainActor func negativeELBO(_ data: Tensor<Float>) -> (total: Double, reconstruction: Double, kl: Double) {
    var reconstruction = 0.0, kl = 0.0
    for start in stride(from: 0, to: data.shape[0], by: 1000) {
        let x = data[rows: start..<min(start + 1000, data.shape[0])]
        let n = Double(x.shape[0])
        reconstruction += Double(reconstructionLoss.forward(vae.fprop(x), x)) * n
        kl += sampler.kl * n
    }
    let n = Double(data.shape[0])
    return ((reconstruction + kl) / n, reconstruction / n, kl / n)
}

/// The result: the test-set bound (with a fixed ε, so that runs compare), and the figures.
@MainActor func evaluate() {
    // the test-set bound
    sampler.rng = Random(seed: 2024) // the same ε for every evaluation
    let bound = negativeELBO(test)
    print(
        String(
            format: "test negative ELBO: %.2f nats per digit (reconstruction %.2f + KL %.2f), k = %d",
            bound.total, bound.reconstruction, bound.kl, latent))

    // the figures. Decoding: pixel probabilities = σ(decoder(z)).
    let decode = { (z: Tensor<Float>) in Sigmoid<Float>().fprop(decoder.fprop(z)) }
    //    a. 100 digits dreamt from the prior: z ~ N(0, I).
    var priorRng = Random(seed: seed &+ 99)
    writeGrid(
        decode(Tensor<Float>.normal([100, latent], using: &priorRng)), to: figurePath(outDir, "vae-k\(latent)-samples.png"),
        columns: 10, range: 0...1)
    //    b. test digits above their reconstructions (decoded from μ, the code's mean).
    let shown = min(20, test.shape[0])
    let digits = test[rows: 0..<shown]
    let means = Tensor<Float>(shape: [shown, latent]) { out in
        encoder.fprop(digits).withUnsafePointer { codes in
            for r in 0..<shown { Float.copy(codes + r * 2 * latent, out + r * latent, latent) }
        }
    }
    writeImageRows([digits, decode(means)], to: figurePath(outDir, "vae-k\(latent)-reconstructions.png"))
    //    c. With k = 2: the learned manifold. A 20×20 grid of codes spaced evenly in
    //       probability under the prior (z = Φ⁻¹(p) for p from 0.025 to 0.975), decoded.
    if latent == 2 {
        /// Φ⁻¹(p), the standard normal quantile, by bisection on Φ(z) = ½ (1 + erf(z / √2)).
        func normalQuantile(_ p: Double) -> Double {
            var lo = -10.0, hi = 10.0
            for _ in 0..<100 {
                let mid = (lo + hi) / 2
                if 0.5 * (1 + erf(mid / 2.0.squareRoot())) < p { lo = mid } else { hi = mid }
            }
            return (lo + hi) / 2
        }
        let steps = (0..<20).map { normalQuantile(0.025 + 0.95 * Double($0) / 19) }
        let grid = Tensor<Float>(
            shape: [400, 2],
            scalars: (0..<400).flatMap { i in
                [Float(steps[i % 20]), Float(-steps[i / 20])] // x to the right, y upwards
            })
        writeGrid(decode(grid), to: figurePath(outDir, "vae-k2-manifold.png"), columns: 20, range: 0...1)
    }
}

// 5. A saved model? With --load we only evaluate it (and draw the figures).
if checkpoints.evaluateOnly {
    checkpoints.loadModel(vae)
    checkpoints.saveModel(vae)
    evaluate()
    finishRun()
    exit(0)
}

// 6. The training loop. A checkpoint records the weights, Adam's moments and step count,
//    and the generators of the batch order and of ε, so --resume continues exactly.
checkpoints.divergenceCause = "the learning rate --lr \(learningRate) is probably too high"
let training = TrainingLoop(
    vae, optimizer, checkpoints, epochs: epochs, shuffle: Random(seed: seed &+ 1),
    generators: ["sampler": .init(sampler, \.rng)], setsOptimizerEpoch: false, // (--resume)
    curves: Curves(name: "vae-k\(latent)")) // vae-k20-curves.svg
training.run(on: mnist.train, batchSize: batchSize) { x, _ in
    let logits = vae.fprop(x)
    let value = Double(reconstructionLoss.forward(logits, x)) + sampler.kl // −ELBO of the batch
    training.check(loss: value) // a NaN stops the run
    vae.zeroGrad()
    vae.grad(x, reconstructionLoss.backward(logits, x)) // GaussianSample adds ∂KL
    optimizer.step()
    return value
} endOfEpoch: { _ in
    let bound = negativeELBO(test)
    training.record(metric: "test −ELBO", value: bound.total, unit: "nats per digit") // for the curves
    return String(format: "test −ELBO %.2f nats (reconstruction %.2f + KL %.2f)", bound.total, bound.reconstruction, bound.kl)
}

// 7. The result: --save keeps the model (before the figures, which may fail), then the
//    test bound and the figures.
checkpoints.saveModel(vae)
evaluate()
training.curves.write(to: outDir) // the training curves, an SVG
print("total time \(clock.formatted) with \(threads) threads")
finishRun() // status 1 if a checkpoint or a figure could not be written
