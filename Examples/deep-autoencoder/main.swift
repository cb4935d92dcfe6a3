// deep-autoencoder: squeeze each digit through 30 numbers and back, and compare with PCA.
//
//   swift run -c release deep-autoencoder [--epochs 30] [--activation relu] [--out DIR]
//   swift run -c release deep-autoencoder --save deep-ae.safetensors        # keep the trained model
//   swift run -c release deep-autoencoder --load deep-ae.safetensors        # evaluate it, no training
//   swift run -c release deep-autoencoder --checkpoint-dir ckpt             # a checkpoint every epoch
//   swift run -c release deep-autoencoder --resume ckpt/epoch-003.safetensors   # continue a run
//
// The network has the shape of Hinton & Salakhutdinov (2006): 784-1000-500-250-30 to
// encode, 30-250-500-1000-784 to decode. The 30-unit code in the middle is linear: a
// deep, nonlinear generalisation of PCA's 30 principal components. The paper needed
// layer-wise RBM pretraining to train it; with rectified linear units, Adam and a
// cross-entropy reconstruction loss it trains directly from a random start.
//
// The score is the one of the paper: the squared error per test image, summed over its
// 784 pixels. PCA with 30 components is the baseline (13.91 here; the paper reports 3.00
// for its autoencoder and 13.87 for PCA, trained on all 60,000 digits).

import Backprop
import ExampleSupport
import Foundation

// 1. Options.
let options = Options("deep-autoencoder", "a 784-1000-500-250-30 autoencoder against PCA with 30 components")
let dataOption = options.mnistData() // checked now: every file there
let epochs = options.int("epochs", 30, "passes over the training set", range: Limits.epochs)
let batchSize = options.int("batch", 128, "examples per mini-batch", range: Limits.batchSize)
let learningRate = options.double("lr", 1e-3, "Adam learning rate (annealed to 1/50 of it by a cosine schedule)")
let activationName = options.string("activation", "relu", "hidden activation: relu, tanh or sigmoid")
let codeSize = options.int("code", 30, "size of the linear code in the middle")
let seed = options.seed(1, "random seed (initial weights and batch order)")
let threads = options.threads()
let outDir = options.outputDirectory("out", ".", "directory for the figure and the training curves")
let checkpoints = CheckpointOptions(options) // --save, --checkpoint-dir, --resume, --load
let activation = AutoencoderActivation(rawValue: activationName)
options.require(learningRate > 0, "--lr must be positive")
options.require([.relu, .tanh, .sigmoid].contains(activation), "--activation must be relu, tanh or sigmoid, got '\(activationName)'")
options.require((1...250).contains(codeSize), "--code must be in 1...250 (the layer before it has 250 units)")
options.requireActivations(batch: batchSize, width: 1000, "--batch")
options.finish()
Threads.count = threads
let clock = Stopwatch()

// 2. Data: 28×28 digits flattened to 784 values in [0, 1]. The labels are not used.
let mnist = loadMNISTDigits(dataOption)
let train = mnist.train.images, test = mnist.test.images

// 3. The network: an encoder and a decoder, mirror images of each other. The code layer
//    and the last layer are linear; the last layer gives the logits of the pixels, and a
//    sigmoid turns them into the reconstruction.
func autoencoder(hidden: AutoencoderActivation, code: Int, rng: inout Random) -> Sequential<Float> {
    let encoderSizes = [784, 1000, 500, 250], decoderSizes = [code, 250, 500, 1000]
    let initializer: Initializer = hidden == .relu ? .heNormal : .glorotUniform
    func stage(_ sizes: [Int]) -> [any Layer<Float>] {
        zip(sizes, sizes.dropFirst()).flatMap { fanIn, fanOut in
            [Linear<Float>(fanIn, fanOut, initializer: initializer, using: &rng), hidden.makeLayer()!] as [any Layer<Float>]
        }
    }
    return Sequential<Float> {
        stage(encoderSizes)
        Linear<Float>(250, code, initializer: .glorotUniform, using: &rng) // the code: linear
        stage(decoderSizes)
        Linear<Float>(1000, 784, initializer: .glorotUniform, using: &rng) // pixel logits
    }
}

// 4. The baseline: PCA with as many components as the code has units, fitted to the
//    training digits (mean, covariance by one GEMM, LAPACK's eigensolver).
let pca = PCA(train, components: codeSize)
let pcaError = squaredErrorPerImage(test) { pca.reconstruct($0) }
print(String(format: "PCA-%d: squared error per test image %.2f  (%.1f s)", codeSize, pcaError, clock.seconds))

// 5. Training: cross-entropy between the pixels and the reconstruction, per image, from
//    the logits (stable); Adam with a cosine-annealed learning rate.
var rng = Random(seed: seed)
let model = autoencoder(hidden: activation!, code: codeSize, rng: &rng)
print(model.description.replacingOccurrences(of: "[input ->", with: "[input [\(batchSize), 784] ->"))
let loss = BCEWithLogitsLoss<Float>(reduction: .batchMean)
let optimizer = Adam(
    model.parameters, learningRate: learningRate,
    schedule: .cosine(epochs: epochs, minimum: learningRate / 50))
let reconstruct = { (x: Tensor<Float>) in Sigmoid<Float>().fprop(model.fprop(x)) }
/// The paper's figure: test digits, the autoencoder's reconstructions, PCA's.
@MainActor func writeFigure() {
    let digits = test[rows: 0..<min(20, test.shape[0])]
    writeImageRows([digits, reconstruct(digits), pca.reconstruct(digits)], to: figurePath(outDir, "deep-autoencoder.png"))
}

// 6. A saved model? With --load we only evaluate it (and draw the figure).
if checkpoints.evaluateOnly {
    checkpoints.loadModel(model)
    let testError = squaredErrorPerImage(test, reconstruct: reconstruct)
    print(String(format: "squared error per test image: deep autoencoder %.2f, PCA-%d %.2f", testError, codeSize, pcaError))
    checkpoints.saveModel(model)
    writeFigure()
    finishRun()
    exit(0)
}

// 7. The training loop. A checkpoint records the weights, Adam's moments and step count,
//    and the generator of the batch order, so --resume continues exactly.
checkpoints.divergenceCause = "the learning rate --lr \(learningRate) is probably too high"
let training = TrainingLoop(model, optimizer, checkpoints, epochs: epochs, shuffle: Random(seed: seed &+ 1)) // (--resume)
let resumedEpochs = min(training.state.epoch, epochs) // trained before this run (--resume)
var testError = Double.nan
training.run(on: mnist.train, batchSize: batchSize) { x, _ in
    let logits = model.fprop(x) // [B, 784]
    let value = Double(loss.forward(logits, x)) // the input is the target
    training.check(loss: value) // a NaN stops the run
    model.zeroGrad()
    model.grad(x, loss.backward(logits, x))
    optimizer.step()
    return value
} endOfEpoch: { _ in
    testError = squaredErrorPerImage(test, reconstruct: reconstruct)
    training.record(metric: "test squared error per image", value: testError) // for the curves
    return String(format: "test squared error per image %.2f (PCA-%d %.2f)", testError, codeSize, pcaError)
}
if testError.isNaN { testError = squaredErrorPerImage(test, reconstruct: reconstruct) } // (no epoch was left to train)
checkpoints.saveModel(model) // --save
let trainingRate = Double(training.samples) / training.trainingSeconds // training steps only, evaluation excluded

// 8. The paper's figure, and the training curves.
writeFigure()
training.curves.write(to: outDir) // deep-autoencoder-curves.svg

print(String(format: "squared error per test image: deep autoencoder %.2f, PCA-%d %.2f", testError, codeSize, pcaError))
print(
    String(
        format: "training: %.0f samples/s over %d epochs (%.0f s); total time %@ with %d threads", trainingRate, epochs - resumedEpochs,
        training.trainingSeconds, clock.formatted, threads))
finishRun() // status 1 if a checkpoint or the figure could not be written
