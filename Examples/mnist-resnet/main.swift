// mnist-resnet: a small residual network with batch normalization, reading digits.
//
//   swift run -c release mnist-resnet [--epochs 10] [--batch 128] [--lr 0.1] [--weight-decay 5e-4] ...
//   swift run -c release mnist-resnet --save resnet.safetensors      # weights and BN statistics
//   swift run -c release mnist-resnet --load resnet.safetensors      # evaluate it (also PyTorch's)
//
// Residual learning (He et al., 2016). Stacking more convolutions should never hurt, since
// the extra layers could learn the identity; in practice deep plain stacks train worse,
// because the identity is hard to learn from a random start. A residual block therefore
// computes y = ReLU(x + f(x)): the block only learns the *correction* f to the identity,
// and the gradient reaches earlier layers directly through the "+ x" (∂y/∂x = 1 + ∂f/∂x).
// Where a block halves the resolution and doubles the channels, x no longer has f(x)'s
// shape, and the shortcut becomes a projection: a 1×1 convolution of stride 2 (+ BN).
//
// Batch normalization makes each channel of a convolution's output have mean 0 and
// variance 1 over the mini-batch, then scales and shifts it by learned γ and β. In
// training it uses the batch's own statistics (and keeps a running average of them); in
// evaluation it uses the running averages, so a test digit's class never depends on the
// other digits of its batch. `accuracy` and `--predictions` switch the model to evaluation.
//
//   [N,1,28,28]  conv 3×3 (16) BN ReLU                                   → [N,16,28,28]
//   stage 1:     block(16→16), block(16→16)                               → [N,16,28,28]
//   stage 2:     block(16→32, stride 2, projection), block(32→32)         → [N,32,14,14]
//   stage 3:     block(32→64, stride 2, projection), block(64→64)         → [N,64,7,7]
//   average over the 7×7 map → [N,64,1,1], flatten → [N,64], Linear → [N,10]
//
// The network is the `resnet` workload of ../shared/bench/WORKLOADS.md; its parameter and
// buffer names are those of the PyTorch twin in Scripts/torch-roundtrip.py (--model resnet).

import Backprop
import ExampleSupport
import Foundation

// 1. Options.
let options = Options("mnist-resnet", "train a small residual network with batch normalization on MNIST")
let dataOption = options.mnistData() // checked now: every file there
let epochs = options.int("epochs", 10, "passes over the training set", range: Limits.epochs)
let batchSize = options.int(
    "batch", 128, "examples per mini-batch (more than 1: batch normalization needs a batch)", range: Limits.batchSize)
let learningRate = options.double("lr", 0.1, "learning rate")
let momentum = options.double("momentum", 0.9, "SGD momentum")
let weightDecay = options.double("weight-decay", 5e-4, "L2 weight decay on the convolution and linear weights")
let shift = options.int("shift", 1, "random translations of up to N pixels in training (0: none)", range: 0...8)
let seed = options.seed(1, "random seed (initial weights, batch order and shifts)")
let threads = options.threads()
let schedule = options.schedule("cosine", epochs: epochs)
let predictionsPath = options.outputFile("predictions", "write the test-set scores to FILE (safetensors)")
let outDir = options.outputDirectory("out", ".", "directory for the training curves (mnist-resnet-curves.svg)")
let checkpoints = CheckpointOptions(options) // --save, --checkpoint-dir, --resume, --load
options.require(learningRate > 0, "--lr must be positive")
options.require((0..<1).contains(momentum), "--momentum must be in [0, 1)")
options.require(weightDecay >= 0, "--weight-decay must be non-negative")
options.require(
    batchSize > 1 || checkpoints.evaluateOnly, "--batch must be at least 2: batch normalization computes statistics over the batch")
options.requireActivations(batch: batchSize, width: 16 * 28 * 28, "--batch") // the widest layer's output
options.finish()
Threads.count = threads

// 2. Data: images as [N, 1, 28, 28], values in [0, 1], labels 0…9.
let mnist: MNIST<Float> = loadMNIST(locateMNIST(dataOption), layout: .image)
let inputShape = Array(mnist.train.images.shape.dropFirst()) // [1, 28, 28]
print("MNIST: \(mnist.train.count) training and \(mnist.test.count) test images of \(inputShape), \(mnist.train.classCount) classes")

// 3. The model. A basic block is conv 3×3, BN, ReLU, conv 3×3, BN: that is f. The
//    shortcut is the identity, or, where the block changes the shape (stride 2, more
//    channels), a 1×1 convolution with that stride followed by BN. The ReLU comes after
//    the sum. The convolutions have no bias: the BN after each one has its own shift β.
func basicBlock(in cin: Int, out cout: Int, stride: Int = 1) -> [any Layer<Float>] {
    let projection = stride != 1 || cin != cout
    let shortcut: (any Layer<Float>)? =
        projection
        ? Sequential<Float> {
            Conv2D<Float>(cin, cout, kernelSize: 1, stride: stride, bias: false); BatchNorm2d<Float>(cout)
        } : nil
    let block = Residual<Float>(shortcut: shortcut) { // y = shortcut(x) + f(x)
        Conv2D<Float>(cin, cout, kernelSize: 3, stride: stride, padding: 1, bias: false); BatchNorm2d<Float>(cout); ReLU<Float>()
        Conv2D<Float>(cout, cout, kernelSize: 3, padding: 1, bias: false); BatchNorm2d<Float>(cout)
    }
    return [block, ReLU<Float>()]
}

Random.global = Random(seed: seed)
let model = Sequential<Float> {
    Conv2D<Float>(inputShape[0], 16, kernelSize: 3, padding: 1, bias: false); BatchNorm2d<Float>(16); ReLU<Float>()
    basicBlock(in: 16, out: 16); basicBlock(in: 16, out: 16) // 28×28
    basicBlock(in: 16, out: 32, stride: 2); basicBlock(in: 32, out: 32) // 14×14
    basicBlock(in: 32, out: 64, stride: 2); basicBlock(in: 64, out: 64) // 7×7
    AvgPool2D<Float>(7); Flatten<Float>() // global average: [N, 64]
    Linear<Float>(64, mnist.train.classCount)
}
do {
    _ = try model.outputShape(for: [batchSize] + inputShape)
} catch {
    fail("mnist-resnet: the network needs 28×28 inputs: \(error)")
}
// Weight decay pulls the weights towards 0. On a convolution followed by BN it only
// changes the weights' scale, which BN removes, and so acts as a larger learning rate;
// on BN's own γ and β, and on biases, it would just bias them towards 0. As usual, it
// applies to the convolution and linear weights only: the parameters of rank 1 are
// exempt (β and the biases are already; γ is made so here).
for parameter in model.parameters where parameter.value.rank == 1 { parameter.decays = false }
let loss = CrossEntropyLoss<Float>()
// SGD with momentum, the learning rate following a cosine from --lr to 0 over the epochs.
// BN keeps the activations' scale steady, which is what allows a rate as large as 0.1.
let optimizer = SGD(
    model.parameters, learningRate: learningRate, momentum: momentum,
    weightDecay: weightDecay, schedule: schedule)
// (the input shape on the first line only: each block's body has a line of its own)
var summary = model.description
if let first = summary.range(of: "[input ->") { summary.replaceSubrange(first, with: "[input \([batchSize] + inputShape) ->") }
print(summary)

// 4. A saved model? With --load we only evaluate it. The file holds the parameters and
//    BN's buffers (running_mean, running_var, num_batches_tracked) under PyTorch's names.
if checkpoints.evaluateOnly {
    checkpoints.loadModel(model)
    print(String(format: "test accuracy %.2f%%", accuracy(of: model, on: mnist.test) * 100))
    if let predictionsPath { writePredictions(of: model, on: mnist.test, to: predictionsPath) }
    checkpoints.saveModel(model)
    finishRun()
    exit(0)
}

// 5. Optional data augmentation (--shift N): each training digit moved by a random
//    whole number of pixels in [−N, N] on each axis, the border filled with 0, so the
//    network sees the same digit at several positions. The test digits are not moved.
final class RandomShift {
    var rng: Random
    let pixels: Int
    init(pixels: Int, seed: UInt64) { (self.pixels, rng) = (pixels, Random(seed: seed)) }

    // images [N, C, H, W] → [N, C, H, W], image n moved by (dy, dx)
    func callAsFunction(_ images: Tensor<Float>) -> Tensor<Float> {
        guard pixels > 0 else { return images }
        let (n, c, h, w) = (images.shape[0], images.shape[1], images.shape[2], images.shape[3])
        let span = UInt64(2 * pixels + 1)
        let moves = (0..<n).map { _ in (Int(rng.next() % span) - pixels, Int(rng.next() % span) - pixels) }
        return images.withUnsafePointer { x in
            Tensor(shape: images.shape) { y in
                y.update(repeating: 0, count: n * c * h * w)
                for i in 0..<n {
                    let (dy, dx) = moves[i]
                    let rows = max(0, dy)..<min(h, h + dy), columns = max(0, dx)..<min(w, w + dx)
                    for plane in (i * c)..<((i + 1) * c) {
                        for row in rows {
                            (y + (plane * h + row) * w + columns.lowerBound)
                                .update(from: x + (plane * h + row - dy) * w + columns.lowerBound - dx, count: columns.count)
                        }
                    }
                }
            }
        }
    }
}
let augment = RandomShift(pixels: shift, seed: seed &+ 2)

// 6. Training: for each mini-batch, fprop (BN in training mode: batch statistics), loss,
//    grad, step; after each epoch the test accuracy in evaluation mode (running statistics).
checkpoints.divergenceCause = "the learning rate --lr \(learningRate) is probably too high"
let training = TrainingLoop(
    model, optimizer, checkpoints, epochs: epochs, shuffle: Random(seed: seed &+ 1),
    generators: ["shift": .init(augment, \.rng)]) // (--resume)
training.run(on: mnist.train, batchSize: batchSize) { images, labels in
    let x = augment(images)
    let scores = model.fprop(x) // [B, 10]
    let value = Double(loss.forward(scores, labels))
    training.check(loss: value) // a NaN stops the run
    model.zeroGrad()
    model.grad(x, loss.backward(scores, labels)) // accumulates ∂loss/∂θ
    optimizer.step()
    return value
} endOfEpoch: { _ in
    let testAccuracy = accuracy(of: model, on: mnist.test)
    training.record(metric: "test accuracy", value: testAccuracy * 100, unit: "%") // for the curves
    return String(format: "lr %.4f  test accuracy %.2f%%", optimizer.currentLearningRate, testAccuracy * 100)
}

// 7. Keep the result: --save writes the parameters and the BN statistics, --predictions
//    the test-set scores; then the training curves as an SVG in --out.
checkpoints.saveModel(model)
if let predictionsPath { writePredictions(of: model, on: mnist.test, to: predictionsPath) }
training.curves.write(to: outDir) // mnist-resnet-curves.svg
finishRun() // status 1 if an output could not be written
