// mnist-mlp: a multi-layer perceptron that learns to read handwritten digits.
//
//   swift run -c release mnist-mlp [--epochs 10] [--hidden 1024,1024] [--lr 0.05] ...
//   swift run -c release mnist-mlp --save mlp.safetensors           # keep the trained model
//   swift run -c release mnist-mlp --load mlp.safetensors           # evaluate it, no training
//   swift run -c release mnist-mlp --checkpoint-dir ckpt            # a checkpoint every epoch
//   swift run -c release mnist-mlp --resume ckpt/epoch-003.safetensors   # continue a run
//   mpirun -np 2 .build/release/mnist-mlp --distributed --threads 1   # data-parallel, 2 processes
//
// The network is the classic 784-1024-1024-10: each 28×28 image is flattened into 784
// numbers, two hidden layers of rectified linear units transform it, and a last linear
// layer gives one score per digit. Cross-entropy turns the scores into a loss, and SGD
// with momentum follows the loss's gradient downhill.

import Backprop
import ExampleSupport
import Foundation

// 1. Options.
let options = Options("mnist-mlp", "train a 784-1024-1024-10 ReLU network on MNIST")
let dataOption = options.mnistData()          // checked now: every file there
let epochs = options.int("epochs", 10, "passes over the training set", range: Limits.epochs)
let batchSize = options.int("batch", 128, "examples per mini-batch", range: Limits.batchSize)
let learningRate = options.double("lr", 0.05, "learning rate")
let momentum = options.double("momentum", 0.9, "SGD momentum")
let hidden = options.ints("hidden", [1024, 1024], "hidden layer sizes", range: Limits.layerSize)
let seed = options.seed(1, "random seed (initial weights and batch order)")
let threads = options.threads()
let predictionsPath = options.outputFile("predictions", "write the test-set scores to FILE (safetensors)")
let outDir = options.outputDirectory("out", ".", "directory for the training curves (mnist-mlp-curves.svg)")
let distributed = DistributedOption(options)     // --distributed: data-parallel under mpirun -np N
let checkpoints = CheckpointOptions(options)     // --save, --checkpoint-dir, --resume, --load
options.require(learningRate > 0, "--lr must be positive")
options.require((0..<1).contains(momentum), "--momentum must be in [0, 1)")
// the model must fit in memory: 784·h₁ + h₁·h₂ + … + hₙ·10 weights
let layerSizes = [784] + hidden + [10]
options.requireParameterCount(zip(layerSizes, layerSizes.dropFirst()).reduce(0.0) { $0 + Double($1.0 + 1) * Double($1.1) }, "--hidden")
options.requireActivations(batch: batchSize, width: hidden.max() ?? 1, "--batch and --hidden")
options.finish()
Threads.count = threads

// 2. Data: 28×28 images flattened to 784 values in [0, 1], labels 0…9.
let mnist: MNIST<Float> = loadMNIST(locateMNIST(dataOption))
print("MNIST: \(mnist.train.count) training and \(mnist.test.count) test images, \(mnist.train.classCount) classes")

// 3. The model: Linear → ReLU for each hidden size, then Linear to one score per class.
Random.global = Random(seed: seed)
let sizes = [mnist.train.images.shape[1]] + hidden
let model: Sequential<Float> = perceptron(sizes + [mnist.train.classCount])   // (ExampleSupport/Classifiers.swift)
let loss = CrossEntropyLoss<Float>()
let optimizer = SGD(model.parameters, learningRate: learningRate, momentum: momentum)
print(model.description.replacingOccurrences(of: "[input ->", with: "[input [\(batchSize), \(sizes[0])] ->"))

// 4. A saved model? With --load we only evaluate it. The file holds the weights under
//    PyTorch's names (0.weight, 0.bias, 2.weight, ...), so it may come from PyTorch too.
if checkpoints.evaluateOnly {
    checkpoints.loadModel(model)
    print(String(format: "test accuracy %.2f%%", accuracy(of: model, on: mnist.test) * 100))
    if let predictionsPath { writePredictions(of: model, on: mnist.test, to: predictionsPath) }
    checkpoints.saveModel(model)
    finishRun()
    exit(0)
}

// 5. Training: for each mini-batch, fprop, loss, grad, step. The run's state (epochs
//    and steps done, the generator that shuffles the batches) is what a checkpoint
//    records besides the weights and the momentum, so --resume continues exactly.
checkpoints.divergenceCause = "the learning rate --lr \(learningRate) is probably too high"
let parallel = distributed.start(model, batchSize: batchSize, examples: mnist.train.count)   // (ExampleSupport/Distributed.swift)
let training = TrainingLoop(model, optimizer, checkpoints, epochs: epochs, shuffle: Random(seed: seed &+ 1))   // (--resume)
training.run(on: mnist.train, batchSize: batchSize) { images, labels in
    let (images, labels, weight) = parallel.shard(images, labels)   // this rank's part (all of it alone)
    let scores = parallel.forward(images)                      // [B, 10]
    let value = parallel.average(Double(loss.forward(scores, labels)), weight)
    training.check(loss: value)                                // a NaN stops the run
    model.zeroGrad()
    parallel.backward(images, loss.backward(scores, labels), weight)   // ∂loss/∂θ, averaged over the ranks
    optimizer.step()
    return value
} endOfEpoch: { _ in
    let testAccuracy = accuracy(of: model, on: mnist.test)
    training.record(metric: "test accuracy", value: testAccuracy * 100, unit: "%")   // for the curves
    return String(format: "test accuracy %.2f%%", testAccuracy * 100)
}

// 6. Keep the result: --save writes the model, --predictions the test-set scores; then
//    the training curves (loss per step, test accuracy per epoch) as an SVG in --out.
checkpoints.saveModel(model)
if let predictionsPath { writePredictions(of: model, on: mnist.test, to: predictionsPath) }
training.curves.write(to: outDir)                             // mnist-mlp-curves.svg
finishRun()                                                   // status 1 if an output could not be written
