// autoencoder: one hidden layer that learns to reconstruct digits, four ways.
//
//   swift run -c release autoencoder --kind plain|denoising|contractive|sparse [--tied]
//                                    [--hidden 500] [--noise 0.25] [--lambda L] [--out DIR]
//   swift run -c release autoencoder --save ae.safetensors               # keep the trained model
//   swift run -c release autoencoder --load ae.safetensors               # evaluate it, no training
//   swift run -c release autoencoder --checkpoint-dir ckpt               # a checkpoint every epoch
//   swift run -c release autoencoder --resume ckpt/epoch-003.safetensors # continue a run
//   (with --load and --resume, give the --kind, --tied and --hidden the model was trained with)
//
// An autoencoder maps x to a code h = σ(W x + b) and back to a reconstruction
// r = σ(W' h + c), and is trained to make r close to x. With as many hidden units as
// pixels it could learn the identity; what makes it learn *features* is a constraint:
//
// - plain:       only the size of the code (fewer units than pixels);
// - denoising:   the input is corrupted (each pixel zeroed with probability --noise) and the
//                network must reconstruct the clean digit (Vincent et al., 2008): it has to
//                learn how strokes go together, and its filters become pen strokes;
// - contractive: a penalty λ ‖∂h/∂x‖²_F makes the code insensitive to small changes of the
//                input, except along the directions the data needs (Rifai et al., 2011);
// - sparse:      a penalty λ Σ|h_j| keeps most code units near zero for each digit.
//
// --tied makes the decoder the encoder's weight transposed (W' = Wᵀ): one weight matrix,
// whose gradient collects both uses.
//
// Figures: the filters (each row of W shown as a 28×28 image) and test digits above their
// reconstructions.

import Backprop
import ExampleSupport
import Foundation

// 1. Options.
let options = Options("autoencoder", "plain, denoising, contractive or sparse autoencoders of MNIST digits", booleanFlags: ["tied"])
let dataOption = options.mnistData() // checked now: every file there
let kind = options.string("kind", "denoising", "plain, denoising, contractive or sparse")
let tied = options.flag("tied", "decoder weight = encoder weight transposed")
let hidden = options.int("hidden", 500, "hidden units", range: Limits.layerSize)
let noise = options.double("noise", 0.25, "denoising: probability that a pixel is zeroed")
let lambdaOption = options.double("lambda", -1, "penalty weight (default: 0.3 contractive, 0.03 sparse)")
let epochs = options.int("epochs", 30, "passes over the training set", range: Limits.epochs)
let batchSize = options.int("batch", 20, "examples per mini-batch", range: Limits.batchSize)
let optimizerName = options.string("optimizer", "sgd", "sgd or adam")
let momentum = options.double("momentum", 0.9, "SGD momentum")
let learningRate = options.double("lr", -1, "learning rate, annealed to 0 by a cosine schedule (default: 0.05 for SGD, 1e-3 for Adam)")
let seed = options.seed(1, "random seed")
let threads = options.threads()
let outDir = options.outputDirectory("out", ".", "directory for the figures and the training curves")
let checkpoints = CheckpointOptions(options) // --save, --checkpoint-dir, --resume, --load
options.require(
    ["plain", "denoising", "contractive", "sparse"].contains(kind),
    "--kind must be plain, denoising, contractive or sparse, got '\(kind)'")
options.requireParameterCount(Double(hidden) * (tied ? 785 : 2 * 785), "--hidden")
options.requireActivations(batch: batchSize, width: max(hidden, 784), "--batch and --hidden")
options.require((0..<1).contains(noise), "--noise must be in [0, 1)")
options.require(lambdaOption == -1 || lambdaOption >= 0, "--lambda must be >= 0")
options.require(learningRate == -1 || learningRate > 0, "--lr must be positive")
options.require((0..<1).contains(momentum), "--momentum must be in [0, 1)")
options.require(["adam", "sgd"].contains(optimizerName), "--optimizer must be adam or sgd, got '\(optimizerName)'")
options.finish()
Threads.count = threads
let lambda = lambdaOption >= 0 ? lambdaOption : (kind == "contractive" ? 0.3 : 0.03)
let clock = Stopwatch()

// 2. Data: digits as 784 values in [0, 1].
let mnist = loadMNISTDigits(dataOption)
let test = mnist.test.images

// 3. The model. The encoder is a Linear + Sigmoid; the penalties sit right after the code
//    (identity on the way forward, extra gradient on the way back); the decoder gives the
//    logits of the reconstruction (the sigmoid is folded into the loss, below).
var rng = Random(seed: seed)
let encoder = Linear<Float>(784, hidden, using: &rng)
let decoder = tied ? Linear<Float>(tiedTo: encoder) : Linear<Float>(hidden, 784, using: &rng)
let corruption = MaskingNoise<Float>(noise, seed: seed &+ 7)
let model = Sequential<Float> {
    if kind == "denoising" { corruption }
    encoder
    Sigmoid<Float>()
    if kind == "contractive" { ContractivePenalty(lambda, encoder: encoder) } // λ ‖∂h/∂x‖²_F per digit
    if kind == "sparse" { L1Penalty<Float>(lambda, reduction: .batchMean) } // λ Σ|h| per digit
    decoder
}
print(model.description.replacingOccurrences(of: "[input ->", with: "[input [\(batchSize), 784] ->"))

// 4. Evaluation on clean test digits (no corruption in evaluation mode): squared error
//    (summed over the 784 pixels) and cross-entropy per test image; then the figures:
//    the first 100 filters (rows of W as 28×28 images, each scaled to its own range), and
//    20 test digits above their reconstructions (for denoising: clean digits, corrupted
//    digits, and the reconstructions of the corrupted ones). A function: it runs after
//    training, or alone on a saved model with --load.
let loss = BCEWithLogitsLoss<Float>(reduction: .batchMean)
let name = (kind == "denoising" ? "denoising\(Int((noise * 100).rounded()))" : kind) + (tied ? "-tied" : "")
/// The reconstruction cross-entropy per clean test digit (in evaluation mode).
@MainActor func testCrossEntropy() -> Double {
    model.isTraining = false
    return stride(from: 0, to: test.shape[0], by: 1000).reduce(0.0) { total, start in
        let x = test[rows: start..<min(start + 1000, test.shape[0])]
        return total + Double(loss.forward(model.fprop(x), x)) * Double(x.shape[0])
    } / Double(test.shape[0])
}
@MainActor func evaluate() {
    model.isTraining = false
    let reconstruct = { (x: Tensor<Float>) in Sigmoid<Float>().fprop(model.fprop(x)) }
    let squaredError = squaredErrorPerImage(test, reconstruct: reconstruct)
    let crossEntropy = testCrossEntropy()
    // how much of the code is active: the mean hidden activation, and the penalty on the test set
    let codes = Sigmoid<Float>().fprop(encoder.fprop(test))
    _ = model.fprop(test)
    print(
        String(
            format:
                "%@ autoencoder, %d hidden units: reconstruction error per test image: squared %.2f, cross-entropy %.2f; mean code activation %.3f",
            name, hidden, squaredError, crossEntropy, Double(codes.mean())))
    if kind == "contractive" || kind == "sparse" {
        print(String(format: "%@ penalty on the test set: %.4f per digit (λ = %g)", kind, model.penalty, lambda))
    }

    // the figures
    writeGrid(encoder.weight.value[rows: 0..<min(100, hidden)], to: figurePath(outDir, "autoencoder-\(name)-filters.png"), columns: 10)
    let digits = test[rows: 0..<min(20, test.shape[0])]
    var rows = [digits, reconstruct(digits)]
    if kind == "denoising" {
        corruption.isTraining = true
        let corrupted = corruption.fprop(digits)
        corruption.isTraining = false
        rows += [corrupted, reconstruct(corrupted)]
    }
    writeImageRows(rows, to: figurePath(outDir, "autoencoder-\(name)-reconstructions.png"))
}

// 5. A saved model? With --load we only evaluate it (and draw the figures).
if checkpoints.evaluateOnly {
    checkpoints.loadModel(model)
    checkpoints.saveModel(model)
    evaluate()
    finishRun()
    exit(0)
}

// 6. Training: cross-entropy between each digit and its reconstruction, per digit
//    (computed from the logits, which cannot overflow), plus the penalty if any. The target
//    is always the clean digit, even when the input was corrupted. A checkpoint records the
//    weights, the optimizer's state, and the generators of the batch order and of the
//    corruption, so --resume continues exactly.
let optimizer: any Optimizer<Float> & CheckpointableOptimizer =
    optimizerName == "adam"
    ? Adam(model.parameters, learningRate: learningRate > 0 ? learningRate : 1e-3, schedule: .cosine(epochs: epochs, minimum: 0))
    : SGD(
        model.parameters, learningRate: learningRate > 0 ? learningRate : 0.05, momentum: momentum,
        schedule: .cosine(epochs: epochs, minimum: 0))
checkpoints.divergenceCause =
    "the learning rate --lr \(learningRate > 0 ? learningRate : (optimizerName == "adam" ? 1e-3 : 0.05)) is probably too high"
    + (kind == "contractive" || kind == "sparse" ? ", or the penalty --lambda \(lambda) is" : "")
let training = TrainingLoop(
    model, optimizer, checkpoints, epochs: epochs, shuffle: Random(seed: seed &+ 1),
    generators: ["corruption": .init(corruption, \.rng)], // (--resume)
    curves: Curves(name: "autoencoder-\(name)")) // autoencoder-denoising25-curves.svg
var penaltySum = 0.0, batches = 0
training.run(on: mnist.train, batchSize: batchSize) { x, _ in
    let logits = model.fprop(x)
    let value = Double(loss.forward(logits, x)) + model.penalty // the whole objective
    training.check(loss: value) // a NaN stops the run
    model.zeroGrad()
    model.grad(x, loss.backward(logits, x)) // penalties add their gradients
    optimizer.step()
    penaltySum += model.penalty
    batches += 1
    return value
} endOfEpoch: { _ in
    defer { (penaltySum, batches) = (0, 0) }
    let crossEntropy = testCrossEntropy() // (the training loop sets training mode again)
    training.record(metric: "test cross-entropy", value: crossEntropy, unit: "nats per digit") // for the curves
    return String(format: "test cross-entropy %.2f per digit", crossEntropy)
        + (kind == "contractive" || kind == "sparse" ? String(format: ", penalty %.3f per digit", penaltySum / Double(batches)) : "")
}

// 7. The result: --save keeps the model (before the figures, which may fail), then its
//    scores and figures.
checkpoints.saveModel(model)
evaluate()
training.curves.write(to: outDir) // the training curves, an SVG
print("total time \(clock.formatted) with \(threads) threads")
finishRun() // status 1 if a checkpoint or a figure could not be written
