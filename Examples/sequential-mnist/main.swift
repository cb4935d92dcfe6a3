// sequential-mnist: an LSTM reads each handwritten digit one row at a time.
//
//   swift run -c release sequential-mnist [--data DIR] [--epochs 8] [--hidden 128] [--lr 0.1] ...
//   swift run -c release sequential-mnist --save lstm.safetensors        # keep the trained model
//   swift run -c release sequential-mnist --load lstm.safetensors        # evaluate it, no training
//   swift run -c release sequential-mnist --checkpoint-dir ckpt          # a checkpoint every epoch
//   swift run -c release sequential-mnist --resume ckpt/epoch-003.safetensors   # continue a run
//
// A 28×28 image becomes a sequence of 28 time steps, each the 28 pixels of one row, top
// to bottom. An LSTM with 128 units reads the rows in order, carrying what it has seen in
// its hidden and cell state; after the last row, a linear layer turns the final hidden
// state into one score per digit. The network never sees the image as a whole, only its
// memory of the rows so far, which makes this a classic test of recurrent memory.

import Backprop
import ExampleSupport
import Foundation

// 1. Options.
let options = Options("sequential-mnist", "classify MNIST digits read row by row with an LSTM")
let dataOption = options.mnistData() // checked now: every file there
let epochs = options.int("epochs", 8, "passes over the training set", range: Limits.epochs)
let batchSize = options.int("batch", 64, "examples per mini-batch", range: Limits.batchSize)
let hidden = options.int("hidden", 128, "LSTM hidden units", range: Limits.layerSize)
let learningRate = options.double("lr", 0.1, "learning rate")
let momentum = options.double("momentum", 0.9, "SGD momentum")
let clip = options.double("clip", 0, "clip gradients to this global norm (0: no clipping)")
let seed = options.seed(1, "random seed (initial weights and batch order)")
let threads = options.threads()
let outDir = options.outputDirectory("out", ".", "directory for the training curves (sequential-mnist-curves.svg)")
let checkpoints = CheckpointOptions(options) // --save, --checkpoint-dir, --resume, --load
options.require(learningRate > 0, "--lr must be positive")
options.require((0..<1).contains(momentum), "--momentum must be in [0, 1)")
options.require(clip >= 0, "--clip must be >= 0")
options.requireParameterCount(4 * Double(hidden) * Double(28 + hidden + 2) + Double(hidden + 1) * 10, "--hidden")
options.requireActivations(batch: batchSize * 28, width: 4 * hidden, "--batch and --hidden") // the gates of 28 steps
options.finish()
Threads.count = threads

// 2. Data: each image flattened to 784 values in [0, 1], row after row.
let mnist: MNIST<Float> = loadMNIST(locateMNIST(dataOption))
let side = 28
guard mnist.train.images.shape[1] == side * side else {
    fail("error: sequential-mnist expects 28×28 images, got \(mnist.train.images.shape[1]) pixels per image")
}
print("MNIST: \(mnist.train.count) training and \(mnist.test.count) test images, \(mnist.train.classCount) classes")

// 3. The model. TimeMajor turns a batch [B, 784] into the sequence [28, B, 28] that
//    recurrent layers take (time first, as in PyTorch): step t holds row t of every image.
//    The LSTM returns its hidden state at every step, [28, B, 128]; LastStep keeps the
//    one after the last row, [B, 128], and Linear scores the ten digits.
Random.global = Random(seed: seed)
let model = Sequential<Float> {
    TimeMajor<Float>(steps: side)
    LSTM<Float>(side, hidden)
    LastStep<Float>()
    Linear<Float>(hidden, mnist.train.classCount)
}
let loss = CrossEntropyLoss<Float>()
let optimizer = SGD(
    model.parameters, learningRate: learningRate, momentum: momentum,
    maxGradientNorm: clip > 0 ? clip : nil)
print(model.description.replacingOccurrences(of: "[input ->", with: "[input [\(batchSize), \(side * side)] ->"))

// 4. A saved model? With --load we only evaluate it (weights under PyTorch's names:
//    1.weight_ih_l0, ..., 3.weight).
if checkpoints.evaluateOnly {
    checkpoints.loadModel(model)
    print(String(format: "test accuracy %.2f%%", accuracy(of: model, on: mnist.test) * 100))
    checkpoints.saveModel(model)
    finishRun()
    exit(0)
}

// 5. Training: for each mini-batch, fprop, loss, grad (backpropagation through time over
//    the 28 steps happens inside the LSTM), step. A checkpoint records the weights, the
//    momentum, and the generator that shuffles the batches, so --resume continues exactly.
checkpoints.divergenceCause = "the learning rate --lr \(learningRate) is probably too high" + (clip > 0 ? "" : ", or try --clip 5")
let training = TrainingLoop(model, optimizer, checkpoints, epochs: epochs, shuffle: Random(seed: seed &+ 1)) // (--resume)
training.run(on: mnist.train, batchSize: batchSize) { images, labels in
    let scores = model.fprop(images) // [B, 10]
    let value = Double(loss.forward(scores, labels))
    training.check(loss: value) // a NaN stops the run
    model.zeroGrad()
    model.grad(images, loss.backward(scores, labels)) // accumulates ∂loss/∂θ
    training.check(gradientNorm: optimizer.step()) // with --clip: its norm
    return value
} endOfEpoch: { _ in
    let testAccuracy = accuracy(of: model, on: mnist.test)
    training.record(metric: "test accuracy", value: testAccuracy * 100, unit: "%") // for the curves
    return String(format: "test accuracy %.2f%%", testAccuracy * 100)
}
checkpoints.saveModel(model) // --save
training.curves.write(to: outDir) // sequential-mnist-curves.svg
finishRun() // status 1 if a checkpoint could not be written
