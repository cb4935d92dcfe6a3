// mnist-convnet: the convolutional network of the Torch7 lecture example, reading digits.
//
//   swift run -c release mnist-convnet [--epochs 8] [--batch 64] [--lr 0.05] [--out DIR] ...
//   swift run -c release mnist-convnet --augment             # moved and turned digits, 15 epochs
//   swift run -c release mnist-convnet --validation 2000 --early-stopping 3
//   mpirun -np 2 .build/release/mnist-convnet --distributed --threads 1   # data-parallel, 2 processes
//
// A multi-layer perceptron sees a digit as 784 unrelated numbers. A convolutional network
// knows it is an image: each unit of a convolution looks at a small window (5×5 here) and
// the same small filter is slid over the whole image, so a stroke is recognised wherever
// it appears, with 25 weights instead of 784. Max pooling then keeps the strongest
// response in each 2×2 block, which halves the resolution and lets the next layer see
// larger parts of the digit. Two such stages turn a 32×32 digit into 128 maps of 5×5
// features, and two fully connected layers read the class from them.
//
//   [N,1,32,32] conv 5×5 → [N,16,28,28] ReLU, max-pool 2 → [N,16,14,14]
//               conv 5×5 → [N,128,10,10] ReLU, max-pool 2 → [N,128,5,5]
//               flatten  → [N,3200] Linear → [N,200] ReLU → Linear → [N,10]
//
// At the end it saves the 16 first-layer filters as a PNG, to see what was learned.
//
// `--augment` fakes more data, as the lecture notes suggest: at every step each digit is
// moved by up to ±2 pixels in x and y and turned by up to ±10° (a fresh draw each time),
// so the network sees the same digit in many slightly different places and slants and
// learns what does not change. It needs more epochs (the default becomes 15).

import Backprop
import ExampleSupport
import Foundation

// 1. Options (the same as mnist-mlp's, plus where to write the picture).
let options = Options("mnist-convnet", "train the lecture's convolutional network on MNIST")
let dataOption = options.mnistData() // checked now: every file there
let seed = options.seed(1, "random seed (initial weights and batch order)")
let augmentation = options.augmentation(seed: seed &+ 3) // --augment (more epochs by default)
let epochs = options.int("epochs", augmentation != nil ? 15 : 8, "passes over the training set (15 with --augment)", range: Limits.epochs)
let batchSize = options.int("batch", 64, "examples per mini-batch", range: Limits.batchSize)
let learningRate = options.double("lr", 0.05, "learning rate")
let momentum = options.double("momentum", 0.9, "SGD momentum")
let validation = ValidationOptions(options) // --validation, --early-stopping
let threads = options.threads()
let outDirectory = options.outputDirectory("out", ".", "directory for the PNG of the first-layer filters and the training curves")
let schedule = options.schedule("cosine", epochs: epochs)
let predictionsPath = options.outputFile("predictions", "write the test-set scores to FILE (safetensors)")
let distributed = DistributedOption(options) // --distributed: data-parallel under mpirun -np N
let checkpoints = CheckpointOptions(options)
options.requireActivations(batch: batchSize, width: 16 * 28 * 28, "--batch") // the first convolution's output
options.require(learningRate > 0, "--lr must be positive")
options.require((0..<1).contains(momentum), "--momentum must be in [0, 1)")
options.finish()
Threads.count = threads

// 2. Data: images as [N, 1, 28, 28] (one channel), values in [0, 1], labels 0…9.
//    The lecture's network takes 32×32 inputs, so every digit gets a border of 2 zeros.
//    We pad the whole data set once, with the same Pad2D module a network could hold
//    (`paddedForLectureConvnet`): inside the model it would be redone at every step, and
//    the first module would no longer be the convolution (whose input gradient nobody
//    needs and Sequential skips).
let mnist: MNIST<Float> = loadMNIST(locateMNIST(dataOption), layout: .image)
//    With --validation N, N training digits (the same share of every class) are held out.
let train =
    checkpoints.evaluateOnly
    ? paddedForLectureConvnet(mnist.train)
    : validation.split(mnist.train, seed: seed &+ 2, prepared: paddedForLectureConvnet)
let test = paddedForLectureConvnet(mnist.test)
let inputShape = Array(train.images.shape.dropFirst()) // [1, 32, 32]
print("MNIST: \(train.count) training and \(test.count) test images of \(inputShape), \(train.classCount) classes")

// 3. The model. After two 5×5 convolutions (each trims 4 pixels) and two poolings (each
//    halves), a 32×32 input leaves 128 maps of 5×5: 3200 features for the classifier.
Random.global = Random(seed: seed)
let model: Sequential<Float> = lectureConvnet(channels: inputShape[0], classes: train.classCount) // (ExampleSupport/Classifiers.swift)
let conv1 = model.layers[0] as! Conv2D<Float>
do {
    _ = try model.outputShape(for: [batchSize] + inputShape)
} catch {
    fail("mnist-convnet: the network needs 32×32 inputs (28×28 digits padded by 2): \(error)")
}
let loss = CrossEntropyLoss<Float>()
// SGD with momentum; the learning rate follows a cosine from --lr down to 0 over the
// epochs: large steps early, small ones at the end so the last epochs settle instead of
// swinging (with a constant 0.05 the final accuracy moves ±0.2% from epoch to epoch).
let optimizer = SGD(model.parameters, learningRate: learningRate, momentum: momentum, schedule: schedule)
print(model.description.replacingOccurrences(of: "[input ->", with: "[input \([batchSize] + inputShape) ->"))

// 4. A saved model? With --load we only evaluate it (weights under PyTorch's names).
if checkpoints.evaluateOnly {
    checkpoints.loadModel(model)
    print(String(format: "test accuracy %.2f%%", accuracy(of: model, on: test) * 100))
    if let predictionsPath { writePredictions(of: model, on: test, to: predictionsPath) }
    checkpoints.saveModel(model)
    finishRun()
    exit(0)
}

// 5. Training: for each mini-batch, fprop, loss, grad, step; test accuracy after each
//    epoch. --checkpoint-dir saves the run after every epoch; --resume continues one.
checkpoints.divergenceCause = "the learning rate --lr \(learningRate) is probably too high"
//    --augment: the next batch's digits are moved and turned on another thread while
//    this batch trains (the 2-pixel border of the 32×32 input leaves room for the moves).
let parallel = distributed.start(model, batchSize: batchSize, examples: train.count) // (ExampleSupport/Distributed.swift)
let training = TrainingLoop(model, optimizer, checkpoints, epochs: epochs, shuffle: Random(seed: seed &+ 1)) // (--resume)
let prepare = augmentation.map { augment in
    { (images: Tensor<Float>, step: Int) in augment(images, batch: step, threads: 1) }
}
training.run(on: train, batchSize: batchSize, prepare: prepare) { images, labels in
    let (images, labels, weight) = parallel.shard(images, labels) // this rank's part (all of it alone)
    let scores = parallel.forward(images) // [B, 10]
    let value = parallel.average(Double(loss.forward(scores, labels)), weight)
    training.check(loss: value) // a NaN stops the run
    model.zeroGrad()
    parallel.backward(images, loss.backward(scores, labels), weight) // ∂loss/∂θ, averaged over the ranks
    optimizer.step()
    return value
} endOfEpoch: { _ in
    let held = validation.endOfEpoch(model, loss, training) // may stop the run (--early-stopping)
    let testAccuracy = accuracy(of: model, on: test)
    training.record(metric: "test accuracy", value: testAccuracy * 100, unit: "%") // for the curves
    return String(format: "lr %.4f  ", optimizer.currentLearningRate) + (held.isEmpty ? "" : held + "  ")
        + String(format: "test accuracy %.2f%%", testAccuracy * 100)
}
print(throughputLine(training))
validation.restoreBest(model) // with --early-stopping: the best epoch's weights
if validation.stopping != nil { print(String(format: "test accuracy %.2f%%", accuracy(of: model, on: test) * 100)) }
checkpoints.saveModel(model)
if let predictionsPath { writePredictions(of: model, on: test, to: predictionsPath) }
training.curves.write(to: outDirectory) // mnist-convnet-curves.svg

// 6. What the first layer learned: its 16 filters, each 5×5, shown in a 4×4 grid, each
//    scaled to its own range (most negative weight black, most positive white) and
//    enlarged 8 times so the pixels can be seen.
func enlarged(_ filters: Tensor<Float>, by zoom: Int) -> Tensor<Float> {
    let (n, h, w) = (filters.shape[0], filters.shape[filters.rank - 2], filters.shape[filters.rank - 1])
    let values = filters.scalars
    var big = [Float](repeating: 0, count: n * h * zoom * w * zoom)
    for k in 0..<n {
        for y in 0..<(h * zoom) {
            for x in 0..<(w * zoom) {
                big[(k * h * zoom + y) * w * zoom + x] = values[(k * h + y / zoom) * w + x / zoom]
            }
        }
    }
    return Tensor(shape: [n, h * zoom, w * zoom], scalars: big)
}
// (the weight is [16, 1, 5, 5]: one 5×5 image per filter, one input channel)
writeGrid(
    enlarged(conv1.weight.value, by: 8), to: figurePath(outDirectory, "mnist-convnet-filters.png"),
    imageShape: (40, 40), columns: 4, border: 4)
finishRun() // status 1 if an output could not be written
