// semantic-hashing: 28-bit binary codes of digits, and retrieval by Hamming distance.
//
//   swift run -c release semantic-hashing [--bits 28] [--noise 4] [--epochs 10] [--out DIR]
//
// Semantic hashing (Salakhutdinov & Hinton 2009) gives every document a short binary code
// such that similar documents get codes a few bits apart: finding neighbours is then a
// lookup of the codes at Hamming distance 0, 1, 2, … of the query's, with no search at all.
// The codes come from a deep autoencoder whose code layer is a sigmoid; during training,
// Gaussian noise is added to the code layer's input, so the decoder only gets a usable
// message if the sigmoids are driven far into saturation, near 0 or 1. After training the
// code is thresholded at ½ and loses little.
//
// Here: MNIST digits, a 784-500-250-28 encoder (ReLU, then the noisy sigmoid code) and a
// mirror decoder. For each test digit we take the 100 training digits whose codes are
// nearest in Hamming distance and count how many show the same digit (precision at 100),
// against two baselines with as many bits: the signs of 28 random projections of the
// centred pixels (locality-sensitive hashing), and the signs of the 28 principal components.
//
// Figures: precision at 100 of the three codes; how binary the code layer is; a PNG of
// test digits above their reconstructions from the 28 bits.

import Backprop
import ExampleSupport
import Foundation

// 1. Options.
let options = Options("semantic-hashing", "binary codes of MNIST digits from a deep autoencoder, retrieval by Hamming distance")
let dataOption = options.mnistData()
let bits = options.int("bits", 28, "bits in the code", range: 1...32)
let noise = options.double("noise", 4, "standard deviation of the noise added before the code's sigmoid during training")
let epochs = options.int("epochs", 10, "passes over the training set", range: Limits.epochs)
let batchSize = options.int("batch", 100, "digits per mini-batch", range: Limits.batchSize)
let learningRate = options.double("lr", 1e-3, "Adam's learning rate, annealed by a cosine schedule to 1/50 of it")
let retrieved = options.int("retrieve", 100, "training digits retrieved per test digit", range: 1...1_000_000)
let seed = options.seed(1, "random seed")
let threads = options.threads()
let outDir = options.outputDirectory("out", ".", "directory for the reconstructions")
options.require(noise >= 0 && noise <= 100, "--noise must be in [0, 100]")
options.require(learningRate > 0 && learningRate < 1, "--lr must be in (0, 1)")
options.requireActivations(batch: batchSize, width: 784, "--batch")
options.finish()
Threads.count = threads
let clock = Stopwatch()

// 2. Data: digits as 784 values in [0, 1].
let mnist = loadMNISTDigits(dataOption)
let train = mnist.train.images, test = mnist.test.images
let k = min(retrieved, mnist.train.count)

// 3. The model: encoder, noise (training only), the code's sigmoid, decoder (pixel logits).
var rng = Random(seed: seed)
let encoder = Sequential<Float> {
    Linear<Float>(784, 500, initializer: .heNormal, using: &rng); ReLU<Float>()
    Linear<Float>(500, 250, initializer: .heNormal, using: &rng); ReLU<Float>()
    Linear<Float>(250, bits, initializer: .glorotUniform, using: &rng)
}
let codeNoise = GaussianNoise<Float>(noise, using: &rng)
let decoder = Sequential<Float> {
    Linear<Float>(bits, 250, initializer: .heNormal, using: &rng); ReLU<Float>()
    Linear<Float>(250, 500, initializer: .heNormal, using: &rng); ReLU<Float>()
    Linear<Float>(500, 784, initializer: .glorotUniform, using: &rng)
}
let model = Sequential<Float> {
    encoder
    codeNoise
    Sigmoid<Float>() // the code, in (0, 1)
    decoder
}
print(model.description.replacingOccurrences(of: "[input ->", with: "[input [\(batchSize), 784] ->"))

// 4. Training: cross-entropy of the reconstruction per digit, Adam.
let loss = BCEWithLogitsLoss<Float>(reduction: .batchMean)
let stepsPerEpoch = (mnist.train.count + batchSize - 1) / batchSize
let optimizer = Adam(
    model.parameters, learningRate: learningRate,
    schedule: .warmupCosine(warmup: 0, total: epochs * stepsPerEpoch, minimum: learningRate / 50))
var order = Random(seed: seed &+ 1)
for epoch in 1...epochs {
    let epochClock = Stopwatch()
    var total = 0.0, seen = 0
    for (x, _) in mnist.train.batches(size: batchSize, using: &order) {
        let logits = model.fprop(x)
        let value = Double(loss.forward(logits, x))
        guard value.isFinite else { fail("semantic-hashing: the loss became \(value) in epoch \(epoch); try a smaller --lr") }
        model.zeroGrad()
        model.grad(x, loss.backward(logits, x))
        optimizer.step()
        total += value * Double(x.shape[0])
        seen += x.shape[0]
    }
    print(
        String(
            format: "epoch %2d  reconstruction cross-entropy %.2f per digit (with the noise)  (%.1f s)", epoch, total / Double(seen),
            epochClock.seconds))
}
model.isTraining = false

// 5. The codes. Ours: the sigmoid outputs thresholded at ½. Random projections: the signs
//    of (x − mean) · R, R Gaussian [784, bits]. PCA: the signs of the first `bits`
//    principal components. Each code is the bits of a UInt32.
/// Packs row i of `values` [N, bits] into bit j of code i wherever the value is above `threshold`.
func pack(_ values: Tensor<Float>, threshold: Float) -> [UInt32] {
    let (n, width) = (values.shape[0], values.shape[1])
    return (0..<n).map { i in
        var code: UInt32 = 0
        for j in 0..<width where values.scalars[i * width + j] > threshold { code |= 1 << UInt32(j) }
        return code
    }
}
@MainActor func sigmoidCodes(_ x: Tensor<Float>) -> Tensor<Float> { Sigmoid<Float>().fprop(encoder.fprop(x)) }
let trainActivations = sigmoidCodes(train), testActivations = sigmoidCodes(test)
let nearBinary = Double(testActivations.scalars.filter { $0 < 0.1 || $0 > 0.9 }.count) / Double(testActivations.count)
let hashTrain = pack(trainActivations, threshold: 0.5), hashTest = pack(testActivations, threshold: 0.5)

let mean = Tensor<Float>(
    shape: [1, 784],
    scalars: (0..<784).map { j in
        (0..<train.shape[0]).reduce(Float(0)) { $0 + train.scalars[$1 * 784 + j] } / Float(train.shape[0])
    })
var projectionRandom = Random(seed: seed &+ 2)
let projection = Tensor<Float>.normal([784, bits], using: &projectionRandom)
@MainActor func projected(_ x: Tensor<Float>) -> Tensor<Float> { Tensor.matmul(x.addingRowVector(-mean.reshaped([784])), projection) }
let randomTrain = pack(projected(train), threshold: 0), randomTest = pack(projected(test), threshold: 0)
let pca = PCA(train, components: bits)
let pcaTrain = pack(pca.encode(train), threshold: 0), pcaTest = pack(pca.encode(test), threshold: 0)

// 6. Retrieval: for each test digit, the `k` training digits nearest in Hamming distance
//    (ties broken by their order in the training set: the codes at distance 0, then 1, …,
//    until k are found), and the fraction showing the same digit.
func precision(train codes: [UInt32], labels: [Int], queries: [UInt32], queryLabels: [Int], k: Int) -> Double {
    var sum = 0.0
    var byDistance = [[Int]](repeating: [], count: 33)
    for (q, query) in queries.enumerated() {
        for d in 0..<33 { byDistance[d].removeAll(keepingCapacity: true) }
        for (i, code) in codes.enumerated() { byDistance[(code ^ query).nonzeroBitCount].append(labels[i]) }
        var taken = 0, same = 0
        for d in 0..<33 where taken < k {
            for label in byDistance[d].prefix(k - taken) { same += label == queryLabels[q] ? 1 : 0 }
            taken += min(k - taken, byDistance[d].count)
        }
        sum += Double(same) / Double(taken)
    }
    return sum / Double(max(queries.count, 1))
}
let labels = mnist.train.labels, testLabels = mnist.test.labels
let ours = precision(train: hashTrain, labels: labels, queries: hashTest, queryLabels: testLabels, k: k)
let lsh = precision(train: randomTrain, labels: labels, queries: randomTest, queryLabels: testLabels, k: k)
let pcaPrecision = precision(train: pcaTrain, labels: labels, queries: pcaTest, queryLabels: testLabels, k: k)
print(
    String(
        format: "code layer: %.1f%% of the test activations within 0.1 of 0 or 1; %d distinct codes among %d training digits",
        nearBinary * 100, Set(hashTrain).count, hashTrain.count))
print(
    String(
        format:
            "precision at %d (same digit) by Hamming distance, %d bits: semantic hashing %.2f%%, random projections %.2f%%, PCA signs %.2f%%",
        k, bits, ours * 100, lsh * 100, pcaPrecision * 100))

// 7. The picture: test digits, their reconstructions from the thresholded bits.
let digits = test[rows: 0..<min(20, test.shape[0])]
let bitsOfDigits = Tensor<Float>(
    shape: [digits.shape[0], bits], scalars: testActivations[rows: 0..<digits.shape[0]].scalars.map { $0 > 0.5 ? 1 : 0 })
writeImageRows(
    [digits, Sigmoid<Float>().fprop(decoder.fprop(bitsOfDigits))], to: figurePath(outDir, "semantic-hashing-reconstructions.png"))
print("total time \(clock.formatted) with \(threads) threads")
finishRun()
