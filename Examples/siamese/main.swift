// siamese: learning a similarity metric with two towers that share every parameter.
//
//   swift run -c release siamese [--epochs 5] [--pairs 30000] [--margin 1] [--out DIR]
//
// A Siamese network (Bromley et al. 1993; Chopra, Hadsell & LeCun 2005) maps each input
// to a code with one network G applied twice, to both members of a pair. It is trained on
// pairs, not labels: the distance d = ‖G(a) − G(b)‖ must be small when a and b show the
// same digit and at least a margin m when they do not (the contrastive loss of Hadsell,
// Chopra & LeCun 2006):
//
//     loss = y · d² + (1 − y) · max(0, m − d)²        (y = 1: same digit)
//
// The two "towers" are one module: its parameters are used by both passes, and the
// gradients of both passes add up in the same `Parameter`s (the weight-sharing rule).
// With a 2-D code the result is a map of the digits where distances mean similarity; a
// k-nearest-neighbour classifier in that plane measures how well the classes separate,
// against the best linear 2-D map of the pixels (PCA).
//
// Figures: k-NN test accuracy in the learned 2-D code and in 2-D PCA; an SVG scatter of
// the test codes coloured by digit.

import Backprop
import ExampleSupport
import Foundation

// 1. Options.
let options = Options("siamese", "a Siamese convnet mapping MNIST digits to a 2-D code, trained with a contrastive loss on pairs")
let dataOption = options.mnistData()
let epochs = options.int("epochs", 5, "passes over --pairs pairs", range: Limits.epochs)
let pairsPerEpoch = options.int(
    "pairs", 30000, "pairs per epoch (the first members go through the training set in order)", range: 1...10_000_000)
let batchSize = options.int("batch", 64, "pairs per mini-batch", range: Limits.batchSize)
let margin = options.double("margin", 1, "the contrastive loss's margin m")
let learningRate = options.double("lr", 2e-3, "Adam's learning rate, annealed to 0 by a cosine schedule")
let neighbours = options.int("k", 5, "neighbours of the k-NN classifier", range: 1...1000)
let seed = options.seed(1, "random seed")
let threads = options.threads()
let outDir = options.outputDirectory("out", ".", "directory for the scatter of the test codes")
options.require(margin > 0 && margin <= 1000, "--margin must be in (0, 1000]")
options.require(learningRate > 0 && learningRate < 1, "--lr must be in (0, 1)")
options.requireActivations(batch: 2 * batchSize, width: 16 * 24 * 24, "--batch")
options.finish()
Threads.count = threads
let clock = Stopwatch()

// 2. Data: digits as [N, 1, 28, 28]; the training digits grouped by class, to draw pairs.
let mnist: MNIST<Float> = loadMNIST(locateMNIST(dataOption), layout: .image)
let train = mnist.train, test = mnist.test
var byClass = [[Int]](repeating: [], count: train.classCount)
for (i, label) in train.labels.enumerated() { byClass[label].append(i) }
print("MNIST: \(train.count) training and \(test.count) test digits")

// 3. The tower G: a small convnet ending in 2 numbers (no activation: the code is a point
//    of the plane). One module; the "two towers" are two passes through it.
Random.global = Random(seed: seed)
let tower = Sequential<Float> {
    Conv2D<Float>(1, 16, kernelSize: 5); ReLU<Float>(); MaxPool2D<Float>(2) // [N,16,12,12]
    Conv2D<Float>(16, 32, kernelSize: 5); ReLU<Float>(); MaxPool2D<Float>(2) // [N,32,4,4]
    Flatten<Float>()
    Linear<Float>(32 * 4 * 4, 128); ReLU<Float>()
    Linear<Float>(128, 2)
}
print(tower.description.replacingOccurrences(of: "[input ->", with: "[input [\(batchSize), 1, 28, 28] ->"))

// 4. Pairs: each training digit in turn is a first member; its partner is a random digit
//    of the same class with probability ½ (a similar pair), else of another class.
var pairRandom = Random(seed: seed &+ 1)
@MainActor func partner(of label: Int) -> (index: Int, similar: Bool) {
    let similar = pairRandom.nextUnit() < 0.5
    var c = label
    if !similar { c = (label + 1 + Int(pairRandom.next() % UInt64(train.classCount - 1))) % train.classCount }
    let members = byClass[c]
    return (members[Int(pairRandom.next() % UInt64(members.count))], similar)
}

// 5. Training. For each mini-batch of pairs (a, b): the codes of both members, the loss on
//    them, then the two backward passes. A module keeps what its backward pass needs from
//    its last fprop, so we go back through the pass of b first (it is the last one), then
//    run a forward again and go back through it: both add their gradients to the same
//    parameters before the optimizer's step.
let loss = ContrastiveLoss<Float>(margin: margin)
let stepsPerEpoch = (pairsPerEpoch + batchSize - 1) / batchSize
let optimizer = Adam(
    tower.parameters, learningRate: learningRate,
    schedule: .warmupCosine(warmup: 0, total: epochs * stepsPerEpoch, minimum: 0))
var orderRandom = Random(seed: seed &+ 2)
var order = orderRandom.permutation(train.count), cursor = 0
for epoch in 1...epochs {
    let epochClock = Stopwatch()
    var total = 0.0, seen = 0
    for step in 0..<stepsPerEpoch {
        let n = min(batchSize, pairsPerEpoch - step * batchSize)
        var first = [Int](), second = [Int](), similar = [Float]()
        for _ in 0..<n {
            if cursor == order.count { order = orderRandom.permutation(train.count); cursor = 0 }
            let i = order[cursor]
            cursor += 1
            let (j, same) = partner(of: train.labels[i])
            first.append(i); second.append(j); similar.append(same ? 1 : 0)
        }
        let a = train.images.gathering(rows: first), b = train.images.gathering(rows: second)
        let codesA = tower.fprop(a)
        let codesB = tower.fprop(b) // (the tower now remembers b's pass)
        let codes = codesA.concatenatingRows(codesB) // [2n, 2]: the input layout ContrastiveLoss takes
        let target = Tensor<Float>(similar)
        let value = Double(loss.forward(codes, target))
        guard value.isFinite else { fail("siamese: the loss became \(value) in epoch \(epoch); try a smaller --lr") }
        let gradient = loss.backward(codes, target)
        tower.zeroGrad()
        tower.grad(b, gradient[rows: n..<(2 * n)]) // back through b's pass
        _ = tower.fprop(a) // a's pass again,
        tower.grad(a, gradient[rows: 0..<n]) // and back through it: the gradients add up
        optimizer.step()
        total += value * Double(n)
        seen += n
    }
    print(String(format: "epoch %d  contrastive loss %.4f per pair  (%.1f s)", epoch, total / Double(seen), epochClock.seconds))
}

// 6. Evaluation: the codes of every training and test digit, then a k-nearest-neighbour
//    vote in the plane (Euclidean distance, the k nearest training codes). The same on
//    the 2-D PCA of the pixels, the best linear 2-D map.
tower.isTraining = false
@MainActor func codes(of images: Tensor<Float>) -> [Float] {
    var out = [Float]()
    for start in stride(from: 0, to: images.shape[0], by: 1000) {
        out += tower.fprop(images[rows: start..<min(start + 1000, images.shape[0])]).scalars
    }
    return out
}
/// The fraction of `query` points whose k nearest `reference` points (2-D, flat) vote for their label.
func knnAccuracy(reference: [Float], referenceLabels: [Int], query: [Float], queryLabels: [Int], k: Int, classes: Int) -> Double {
    let count = referenceLabels.count
    var correct = 0
    var nearest = [(distance: Float, label: Int)](repeating: (.infinity, 0), count: k)
    for q in 0..<queryLabels.count {
        let (x, y) = (query[2 * q], query[2 * q + 1])
        for i in 0..<k { nearest[i] = (.infinity, 0) }
        var worst = Float.infinity, worstIndex = 0
        for r in 0..<count {
            let dx = reference[2 * r] - x, dy = reference[2 * r + 1] - y
            let d = dx * dx + dy * dy
            guard d < worst else { continue } // (a slot still empty is infinitely far)
            nearest[worstIndex] = (d, referenceLabels[r])
            worstIndex = 0
            worst = nearest[0].distance
            for i in 1..<k where nearest[i].distance > worst { (worst, worstIndex) = (nearest[i].distance, i) }
        }
        var votes = [Int](repeating: 0, count: classes)
        for (_, label) in nearest { votes[label] += 1 }
        if votes.firstIndex(of: votes.max()!)! == queryLabels[q] { correct += 1 }
    }
    return Double(correct) / Double(max(queryLabels.count, 1))
}
let k = min(neighbours, train.count)
let trainCodes = codes(of: train.images), testCodes = codes(of: test.images)
let siameseAccuracy = knnAccuracy(
    reference: trainCodes, referenceLabels: train.labels, query: testCodes, queryLabels: test.labels,
    k: k, classes: train.classCount)
let flatTrain = train.images.reshaped([train.count, 784]), flatTest = test.images.reshaped([test.count, 784])
let pca = PCA(flatTrain, components: 2)
let pcaAccuracy = knnAccuracy(
    reference: pca.encode(flatTrain).scalars, referenceLabels: train.labels,
    query: pca.encode(flatTest).scalars, queryLabels: test.labels, k: k, classes: train.classCount)
print(String(format: "%d-NN test accuracy in 2-D: Siamese code %.2f%%, PCA %.2f%%", k, siameseAccuracy * 100, pcaAccuracy * 100))

// 7. The picture: every test digit at its code, coloured by class.
var plot = ScatterPlot(
    title: "Siamese 2-D codes of the test digits (\(String(format: "%.1f", siameseAccuracy * 100)) % \(k)-NN)",
    xLabel: "code 1", yLabel: "code 2", width: 720, height: 600)
plot.add(
    points: (0..<test.count).map { (x: Double(testCodes[2 * $0]), y: Double(testCodes[2 * $0 + 1])) },
    classes: test.labels, classNames: (0..<test.classCount).map(String.init))
plot.markerSize = 1.6
plot.markerOpacity = 0.5
plot.equalScales = true
if let path = figurePath(outDir, "siamese-codes.svg") {
    do {
        try plot.write(to: path)
        print("wrote \(path)")
    } catch {
        RunProblems.report("figure \(path) not written: \(error)")
    }
}
print("total time \(clock.formatted) with \(threads) threads")
finishRun()
