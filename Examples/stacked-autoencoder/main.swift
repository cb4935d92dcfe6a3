// stacked-autoencoder: greedy layer-wise pretraining, then fine-tuning as a classifier.
//
//   swift run -c release stacked-autoencoder [--sizes 784,1000,1000] [--noise 0.25]
//                                            [--pretrain-epochs 5] [--epochs 10] [--out DIR]
//   swift run -c release stacked-autoencoder --save sae.safetensors            # keep the pretrained classifier
//   swift run -c release stacked-autoencoder --load sae.safetensors            # evaluate it, no training
//   swift run -c release stacked-autoencoder --checkpoint-dir ckpt             # a checkpoint every fine-tuning epoch
//   swift run -c release stacked-autoencoder --resume ckpt/epoch-003.safetensors   # continue the fine-tuning
//
// The checkpoint options concern the pretrained network's fine-tuning only: --save and
// --checkpoint-dir write the pretrained classifier, --load evaluates one (no pretraining,
// no training), and --resume continues its fine-tuning from a checkpoint (the pretraining is
// skipped, the checkpoint holds the weights); the random-start comparison is trained anew.
//
// Before 2010, deep networks of sigmoid units were hard to train from a random start. The
// fix of Bengio et al. (2007) and Vincent et al. (2010) was to build them one layer at a time:
//
//   1. train the first layer as a denoising autoencoder of the digits (no labels needed);
//   2. encode all digits with it, and train the second layer as a denoising autoencoder of
//      those codes; and so on up the stack;
//   3. put a softmax classifier on top of the stacked encoders and fine-tune the whole
//      network on the labels, end to end, by backpropagation.
//
// The example does exactly that, then trains the *same* network (same sizes, same
// classifier initialisation, same fine-tuning) from a random start, and compares the two.

import Backprop
import ExampleSupport
import Foundation

// 1. Options.
let options = Options(
    "stacked-autoencoder",
    "greedy denoising pretraining of a sigmoid network, then supervised fine-tuning\n"
        + "(--save, --checkpoint-dir, --resume and --load concern the fine-tuning of the pretrained classifier:\n"
        + " --load evaluates a saved one; --resume skips the pretraining and continues its fine-tuning)")
let dataOption = options.mnistData() // checked now: every file there
let sizes = options.ints("sizes", [784, 1000, 1000], "layer sizes of the stack, input first", range: Limits.layerSize)
let noise = options.double("noise", 0.25, "masking probability of the denoising autoencoders")
let pretrainEpochs = options.int("pretrain-epochs", 5, "pretraining passes per layer", range: Limits.epochs)
let pretrainLR = options.double("pretrain-lr", 0.05, "pretraining learning rate (SGD, momentum 0.9)")
let pretrainBatch = options.int("pretrain-batch", 20, "examples per mini-batch in pretraining", range: Limits.batchSize)
let epochs = options.int("epochs", 10, "fine-tuning passes over the labelled training set", range: Limits.epochs)
let learningRate = options.double("lr", 0.1, "fine-tuning learning rate (SGD, momentum 0.9)")
let batchSize = options.int("batch", 64, "examples per mini-batch", range: Limits.batchSize)
let seed = options.seed(1, "random seed")
let threads = options.threads()
let outDir = options.outputDirectory("out", ".", "directory for the figures and the training curves")
let checkpoints = CheckpointOptions(options) // --save, --checkpoint-dir, --resume, --load: the pretrained classifier
options.require(sizes.count >= 2 && sizes.allSatisfy { $0 > 0 }, "--sizes needs at least two positive sizes")
options.require((0..<1).contains(noise), "--noise must be in [0, 1)")
options.require(pretrainEpochs >= 1 && epochs >= 1, "--pretrain-epochs and --epochs must be at least 1")
options.require(pretrainLR > 0 && learningRate > 0, "learning rates must be positive")
options.require(batchSize >= 1 && pretrainBatch >= 1, "--batch and --pretrain-batch must be at least 1")
// two networks of these sizes live at once (pretrained and random start)
options.requireParameterCount(2 * zip(sizes, sizes.dropFirst()).reduce(0.0) { $0 + Double($1.0 + 1) * Double($1.1) }, "--sizes")
options.requireActivations(batch: max(batchSize, pretrainBatch), width: sizes.max() ?? 1, "--batch, --pretrain-batch and --sizes")
options.finish()
Threads.count = threads
let clock = Stopwatch()

// 2. Data.
let mnist: MNIST<Float> = loadMNIST(locateMNIST(dataOption))
guard sizes[0] == mnist.train.images.shape[1] else {
    fail("error: --sizes must start with the image size \(mnist.train.images.shape[1]), got \(sizes[0])")
}
print("MNIST: \(mnist.train.count) training and \(mnist.test.count) test images")

// 3. Greedy pretraining: one denoising autoencoder (tied weights, cross-entropy) per layer,
//    each trained on the codes of the layers below. The labels are not used. With --load
//    or --resume the weights come from the file, so there is nothing to pretrain.
var rng = Random(seed: seed)
let stack = StackedAutoencoder<Float>(sizes: sizes, using: &rng)
let pretrainClock = Stopwatch()
if let path = checkpoints.loadPath ?? checkpoints.resumePath {
    print("no pretraining: the pretrained classifier's weights come from \(path)")
} else {
    stack.pretrain(
        on: mnist.train.images, noise: noise, epochs: pretrainEpochs, batchSize: pretrainBatch, seed: seed &+ 2,
        makeOptimizer: { SGD($0, learningRate: pretrainLR, momentum: 0.9) },
        report: { layer, epoch, loss in
            if !loss.isFinite {
                fail(
                    String(
                        format:
                            "%@: pretraining diverged: the reconstruction cross-entropy of layer %d is %@ (epoch %d); the learning rate --pretrain-lr %g is probably too high",
                        programName, layer + 1, "\(loss)", epoch, pretrainLR))
            }
            print(
                String(
                    format: "pretraining layer %d (%d -> %d), epoch %d/%d: reconstruction cross-entropy %.3f per example  [%.0f s]",
                    layer + 1, sizes[layer], sizes[layer + 1], epoch, pretrainEpochs, loss, pretrainClock.seconds))
            fflush(nil)
        })
    // the first layer's filters, each row of W as an image (if the images are square)
    if let shape = squareImageShape(pixels: sizes[0]) {
        writeGrid(
            stack.encoders[0].weight.value[rows: 0..<min(100, sizes[1])], to: figurePath(outDir, "stacked-autoencoder-filters.png"),
            imageShape: shape, columns: 10)
    } else {
        print("(no filter figure: images of \(sizes[0]) pixels are not square)")
    }
}

// 4. Fine-tuning: the stacked encoders under a softmax classifier (a Linear to 10 scores;
//    cross-entropy does the softmax), trained end to end with SGD. With `checkpointed`
//    (the pretrained network), --checkpoint-dir and --resume apply: a checkpoint records the
//    weights, the momentum and the generator of the batch order. Both runs' curves (loss
//    per step, test accuracy per epoch) go into one figure.
let curves = Curves()
@MainActor func fineTune(_ network: Sequential<Float>, _ title: String, checkpointed: Bool) -> Double {
    let loss = CrossEntropyLoss<Float>()
    let optimizer = SGD(network.parameters, learningRate: learningRate, momentum: 0.9)
    let training = TrainingLoop(
        network, optimizer, checkpoints, epochs: epochs,
        shuffle: Random(seed: seed &+ 3), // the same batches for both networks
        title: title, checkpointed: checkpointed, setsOptimizerEpoch: false, curves: curves) // (--resume)
    var testAccuracy = Double.nan
    training.run(on: mnist.train, batchSize: batchSize) { images, labels in
        let scores = network.fprop(images)
        let value = Double(loss.forward(scores, labels))
        training.check(loss: value) // a NaN stops the run
        network.zeroGrad()
        network.grad(images, loss.backward(scores, labels))
        optimizer.step()
        return value
    } endOfEpoch: { _ in
        testAccuracy = accuracy(of: network, on: mnist.test)
        training.record(metric: "test accuracy", value: testAccuracy * 100, unit: "%") // for the curves
        return String(format: "test accuracy %.2f%%", testAccuracy * 100)
    }
    return testAccuracy.isNaN ? accuracy(of: network, on: mnist.test) : testAccuracy // (no epoch was left to train)
}

checkpoints.divergenceCause = "the learning rate --lr \(learningRate) is probably too high"

// the same classifier layer (same initial weights) on top of both stacks
var classifierRng = Random(seed: seed &+ 4)
let classifierForPretrained = Linear<Float>(sizes.last!, mnist.train.classCount, using: &classifierRng)
classifierRng = Random(seed: seed &+ 4)
let classifierForRandom = Linear<Float>(sizes.last!, mnist.train.classCount, using: &classifierRng)

let pretrained = stack.encoderNetwork().add(classifierForPretrained)
print(pretrained.description.replacingOccurrences(of: "[input ->", with: "[input [\(batchSize), \(sizes[0])] ->"))
if checkpoints.evaluateOnly { // --load: evaluate a saved pretrained classifier
    checkpoints.loadModel(pretrained)
    print(String(format: "test accuracy %.2f%%", accuracy(of: pretrained, on: mnist.test) * 100))
    checkpoints.saveModel(pretrained)
    finishRun()
    exit(0)
}
let pretrainedAccuracy = fineTune(pretrained, "pretrained", checkpointed: true)
checkpoints.saveModel(pretrained) // --save

// 5. The same network from a random start (the initialisation the pretraining began from).
var randomRng = Random(seed: seed)
let fromScratch = StackedAutoencoder<Float>(sizes: sizes, using: &randomRng).encoderNetwork().add(classifierForRandom)
let randomAccuracy = fineTune(fromScratch, "random init", checkpointed: false)

print(
    String(
        format: "test accuracy, %@ sigmoid network: with greedy denoising pretraining %.2f%%, from random initialisation %.2f%%",
        sizes.map(String.init).joined(separator: "-") + "-\(mnist.train.classCount)", pretrainedAccuracy * 100, randomAccuracy * 100))
curves.write(to: outDir) // stacked-autoencoder-curves.svg
print("total time \(clock.formatted) with \(threads) threads")
finishRun() // status 1 if a checkpoint or the figure could not be written
