// gan: a generative adversarial network (Goodfellow et al. 2014) in the DCGAN style
// (Radford et al. 2016) that learns to draw MNIST digits, scored by a digit classifier.
//
//   swift run -c release gan [--epochs 13] [--g-steps 2] [--batch 32] [--lr 2e-4] [--out DIR]
//   swift run -c release gan --save-generator g.safetensors --save-discriminator d.safetensors
//   swift run -c release gan --load-generator g.safetensors     # only sample and score
//   swift run -c release gan --classifier convnet.safetensors   # a classifier saved by mnist-convnet --save
//   swift run -c release gan --init pytorch --real-label 1      # the layers' default weights, no label smoothing
//
// Two networks play a game. The generator G turns a random code z ~ N(0, I) into an image;
// the discriminator D turns an image into one logit, "how real it looks". D is trained to
// tell real digits (label 1) from G's fakes (label 0); G is trained to make D say 1 to its
// fakes. Neither sees a loss of its own making: G learns only through D's gradient.
//
//   G: z [N,64] Linear → [N,6272] BatchNorm ReLU → reshape [N,128,7,7] conv 3×3 BatchNorm ReLU
//      ConvTranspose 4×4 /2 → [N,64,14,14] BatchNorm ReLU conv 3×3 BatchNorm ReLU
//      ConvTranspose 4×4 /2 → [N,32,28,28] BatchNorm ReLU conv 3×3 → [N,1,28,28] Sigmoid
//      (--generator plain: without the 3×3 convolutions, ConvTranspose 4×4 /2 → [N,1,28,28] last)
//   D: [N,1,28,28] conv 4×4 /2 → [N,64,14,14] LeakyReLU(0.2) → conv 4×4 /2 → [N,128,7,7] BatchNorm
//      LeakyReLU(0.2) → conv 3×3 BatchNorm LeakyReLU(0.2) → flatten [N,6272] → Linear → [N,1] logit
//      (--discriminator plain: without the 3×3 convolution)
//
// At the end a trained classifier (the lecture convnet) judges 10,000 generated digits:
// the "inception score", the share of each class, and the Fréchet distance between the
// classifier's features of fakes and of real test digits (GenerativeScores in the library).

import Backprop
import ExampleSupport
import Foundation

// 1. Options.
let options = Options("gan", "a DCGAN of MNIST digits, scored by a digit classifier", booleanFlags: ["no-score"])
let dataOption = options.mnistData() // checked now: every file there
let epochs = options.int("epochs", 13, "passes over the training set", range: Limits.epochs)
let batchSize = options.int("batch", 32, "real images per step (and as many fakes)", range: 2...4096)
let learningRate = options.double("lr", 2e-4, "Adam learning rate of both networks (β₁ = 0.5, β₂ = 0.999)")
let learningRateG = options.double("g-lr", learningRate, "Adam learning rate of the generator (default: --lr)")
let latent = options.int("latent", 64, "size of the code z", range: 1...4096)
let generatorKind = options.string(
    "generator", "deep", "deep (3×3 convolutions at 7×7, 14×14 and 28×28) or plain (the gan workload's DCGAN generator)")
let discriminatorKind = options.string(
    "discriminator", "deep", "deep (a 3×3 convolution at 7×7) or plain (the gan workload's DCGAN discriminator)")
let widthG = options.int("g-width", 64, "generator channels at 14×14 (twice as many at 7×7, half at 28×28)", range: 2...1024)
let widthD = options.int("d-width", 64, "discriminator channels at 14×14 (twice as many at 7×7)", range: 1...1024)
let initName = options.string(
    "init", "dcgan", "initial weights: dcgan (N(0, 0.02), batch norm γ ~ N(1, 0.02)) or pytorch (the layers' defaults)")
let realLabel = options.double("real-label", 0.9, "D's target for real digits (one-sided label smoothing; 1 = none)", range: 0.5...1)
let generatorSteps = options.int("g-steps", 2, "generator steps per discriminator step", range: 1...10)
let seed = options.seed(1, "random seed (weights, codes, batch order)")
let threads = options.threads()
let outDir = options.outputDirectory("out", ".", "directory for the sample grids (gan-epoch-NNN.png, gan-samples.png)")
let saveGenerator = options.outputFile("save-generator", "save the trained generator to FILE (safetensors, PyTorch names)")
let saveDiscriminator = options.outputFile("save-discriminator", "save the trained discriminator to FILE (safetensors, PyTorch names)")
let checkpointDir = options.optionalString(
    "checkpoint-dir", "save both networks to DIR/generator-epoch-NNN.safetensors and discriminator-epoch-NNN.safetensors after every epoch")
if let checkpointDir, let problem = outputDirectoryProblem(checkpointDir) {
    options.require(false, "--checkpoint-dir \(checkpointDir): \(problem)")
}
let loadGenerator = options.inputFile("load-generator", "load a generator from FILE and only sample and score it (no training)")
let classifierFile = options.inputFile(
    "classifier", "the lecture convnet to score with, saved by mnist-convnet --save (else one is trained)")
let saveClassifier = options.outputFile("save-classifier", "save the scoring classifier to FILE (for --classifier next time)")
let classifierEpochs = options.int(
    "classifier-epochs", 8, "epochs to train the scoring classifier when no --classifier is given (8: mnist-convnet's default)",
    range: Limits.epochs)
let sampleCount = options.int("samples", 10_000, "generated digits to score", range: 2...1_000_000)
let skipScore = options.flag("no-score", "do not train or load a classifier, and do not score the samples")
options.require(initName == "dcgan" || initName == "pytorch", "--init must be dcgan or pytorch, got \(initName)")
options.require(generatorKind == "deep" || generatorKind == "plain", "--generator must be deep or plain, got \(generatorKind)")
options.require(
    discriminatorKind == "deep" || discriminatorKind == "plain", "--discriminator must be deep or plain, got \(discriminatorKind)")
options.require(learningRate > 0 && learningRate.isFinite, "--lr must be a positive number, got \(learningRate)")
options.require(learningRateG > 0 && learningRateG.isFinite, "--g-lr must be a positive number, got \(learningRateG)")
options.require(
    !(loadGenerator != nil && saveDiscriminator != nil),
    "--load-generator does not train, so there is no discriminator for --save-discriminator")
options.require(
    !(loadGenerator != nil && checkpointDir != nil), "--load-generator does not train, so --checkpoint-dir has nothing to write")
options.require(!(skipScore && classifierFile != nil), "--no-score and --classifier: give only one of them")
options.require(!(skipScore && saveClassifier != nil), "--no-score trains no classifier for --save-classifier")
// the widest layer: 2w channels at 7×7, D's w at 14×14, or the deep G's w/2 at 28×28
options.requireActivations(batch: batchSize, width: max(2 * max(widthG, widthD) * 7 * 7, widthD * 14 * 14, widthG / 2 * 28 * 28), "--batch")
options.finish()
Threads.count = threads
let clock = Stopwatch()

// 2. Data: real digits [N, 1, 28, 28] with values in [0, 1], the range of G's sigmoid.
let mnist: MNIST<Float> = loadMNIST(locateMNIST(dataOption), layout: .image)
print("MNIST: \(mnist.train.count) training and \(mnist.test.count) test digits")

// 3. The two networks, as PyTorch's nn.Sequential (same module indices, so the same
//    parameter names: G's 0.weight, 1.running_mean, …; D's 0.weight, 3.weight, …).
Random.global = Random(seed: seed)
let generator = dcganGenerator(latent: latent, width: widthG, deep: generatorKind == "deep") // (ExampleSupport/GenerativeModels.swift)
let discriminator = dcganDiscriminator(width: widthD, deep: discriminatorKind == "deep")
// DCGAN's initialisation (Radford et al.): every conv, transposed conv and linear weight
// ~ N(0, 0.02) and bias 0, every batch norm's γ ~ N(1, 0.02) and β = 0. Small weights keep
// both players near the start of the game, where D cannot yet tell and G's gradient is useful.
if initName == "dcgan" {
    var rng = Random(seed: seed &+ 5)
    for network in [generator, discriminator] {
        for child in network.children {
            let isNorm = child.layer is BatchNorm<Float>
            for (name, parameter) in child.layer.namedParameters {
                let shape = parameter.value.shape
                parameter.value =
                    name == "bias"
                    ? .zeros(shape)
                    : .normal(shape, mean: isNorm ? 1 : 0, std: 0.02, using: &rng)
            }
        }
    }
}
// (one fprop so that the descriptions show the shapes; in evaluation mode, so that the
// batch norms' running statistics are not touched)
for (network, input) in [(generator, Tensor<Float>.zeros([2, latent])), (discriminator, .zeros([2, 1, 28, 28]))] {
    network.isTraining = false
    _ = network.fprop(input)
    network.isTraining = true
}
print("generator:", generator.description.replacingOccurrences(of: "[2,", with: "[\(batchSize),"))
print("discriminator:", discriminator.description.replacingOccurrences(of: "[2,", with: "[\(batchSize),"))

/// Codes z ~ N(0, I) for `n` digits.
func codes(_ n: Int, using rng: inout Random) -> Tensor<Float> { Tensor<Float>.normal([n, latent], using: &rng) }

/// `n` digits drawn by the generator in evaluation mode (its batch norms use their running
/// statistics), 1,000 at a time, from codes of `rng`.
@MainActor func generate(_ n: Int, using rng: inout Random) -> Tensor<Float> {
    generator.isTraining = false
    defer { generator.isTraining = true }
    var parts: [Tensor<Float>] = []
    for start in stride(from: 0, to: n, by: 1000) { parts.append(generator.fprop(codes(min(1000, n - start), using: &rng))) }
    return Tensor.concatenated(parts, along: 0)
}

/// The grid of 100 digits from the same fixed codes every time, so epochs compare.
@MainActor func writeSamples(_ name: String) {
    var fixed = Random(seed: seed &+ 99)
    writeGrid(generate(100, using: &fixed).reshaped([100, 784]), to: figurePath(outDir, name), columns: 10, range: 0...1)
}

/// Saves `model` to `path` (if given); a failure is reported, not fatal (finishRun exits 1).
func save(_ model: Sequential<Float>, _ what: String, to path: String?) {
    guard let path else { return }
    do {
        try model.save(to: path)
        print("saved the \(what) (\(model.parameterCount) parameters) to \(path)")
    } catch {
        RunProblems.report("the \(what) was not saved to \(path): \(error)")
    }
}

// 4. Training, or a saved generator.
if let loadGenerator {
    do { try generator.load(from: loadGenerator) } catch { fail("gan: cannot load the generator \(loadGenerator):\n\(error)") }
    print("loaded the generator (\(generator.parameterCount) parameters) from \(loadGenerator)")
} else {
    // Both networks use Adam with β₁ = 0.5 (DCGAN's choice: with the usual 0.9 the
    // momentum of one player lags behind the other's moves and training oscillates).
    // Each round (GANStep, in ExampleSupport, which backprop-bench's gan workload times):
    // a. the discriminator's step: real digits are --real-label, fakes are 0. The fakes are
    //    "detached": nothing is sent on into G. Real digits aim at --real-label (0.9:
    //    one-sided label smoothing, Salimans et al. 2016), so that D does not grow
    //    overconfident and G's gradient stays alive.
    // b. the generator's step, with the non-saturating loss −log D(G(z)): the fakes
    //    labelled 1. Its gradient with respect to the fakes comes from D's *bprop*, which
    //    only computes ∂loss/∂input, so D is not trained by this step. With --g-steps k,
    //    G takes k steps on fresh codes per step of D.
    let game = GANStep(
        generator: generator, discriminator: discriminator, learningRate: learningRate, generatorLearningRate: learningRateG,
        realLabel: Float(realLabel),
        generatorSteps: generatorSteps)
    var shuffle = Random(seed: seed &+ 1), noise = Random(seed: seed &+ 2)
    var step = 0
    for epoch in 1...epochs {
        let epochClock = Stopwatch()
        var lossD = 0.0, lossG = 0.0, realScore = 0.0, fakeScore = 0.0, batches = 0, seen = 0
        for (real, _) in mnist.train.batches(size: batchSize, using: &shuffle) {
            let b = real.shape[0]
            let round = game(real: real) { codes($0, using: &noise) }
            let (dValue, gValue) = (round.discriminatorLoss, round.generatorLoss)
            let (realLogits, fakeLogits) = (round.realLogits, round.fakeLogits)

            step += 1
            do {
                try Divergence.check(loss: dValue, step: step, epoch: epoch)
                try Divergence.check(loss: gValue, step: step, epoch: epoch)
            } catch {
                fail("gan: \(error); the learning rate --lr \(learningRate) is probably too high")
            }
            lossD += dValue; lossG += gValue; batches += 1; seen += b
            // D's mean probability "real" on real digits and on fakes: 0.5 and 0.5 would be
            // the end of the game (D cannot tell), 1 and 0 a discriminator that has won.
            realScore += Double(realLogits.mapped(Float.sigmoid).mean())
            fakeScore += Double(fakeLogits.mapped(Float.sigmoid).mean())
        }
        let n = Double(batches)
        print(
            String(
                format: "epoch %d  loss D %.3f  loss G %.3f  D(real) %.2f  D(fake) %.2f  %.0f real digits/s  (%@)",
                epoch, lossD / n, lossG / n, realScore / n, fakeScore / n, Double(seen) / epochClock.seconds, clock.formatted))
        writeSamples(String(format: "gan-epoch-%03d.png", epoch))
        if let checkpointDir { // (the folder is created by the first one)
            let file = figurePath(checkpointDir, String(format: "generator-epoch-%03d.safetensors", epoch))
            save(generator, "generator", to: file)
            save(
                discriminator, "discriminator", to: figurePath(checkpointDir, String(format: "discriminator-epoch-%03d.safetensors", epoch))
            )
        }
    }
    save(discriminator, "discriminator", to: saveDiscriminator)
}
save(generator, "generator", to: saveGenerator)
writeSamples("gan-samples.png")

// 5. The score. A digit classifier looks at 10,000 fakes (and at the 10,000 real test
//    digits, the ceiling): its predictions give the inception score and the class shares,
//    its 200 penultimate features the Fréchet distance to the real digits.
if !skipScore {
    let classifier: Sequential<Float> = lectureConvnet() // (ExampleSupport/Classifiers.swift)
    let featureLayer = 8 // the ReLU after Linear(3200, 200)
    let test = paddedForLectureConvnet(mnist.test) // 32×32, as the convnet takes
    if let classifierFile {
        do { try classifier.load(from: classifierFile) } catch { fail("gan: cannot load the classifier \(classifierFile):\n\(error)") }
        print("loaded the classifier from \(classifierFile)")
    } else {
        // mnist-convnet's recipe (its 8 epochs by default): SGD with momentum, cosine learning rate
        let train = paddedForLectureConvnet(mnist.train)
        let sgd = SGD(classifier.parameters, learningRate: 0.05, momentum: 0.9, schedule: .cosine(epochs: classifierEpochs, minimum: 0))
        sgd.stepsPerEpoch = (train.count + 63) / 64 // (the schedule's epoch)
        let crossEntropy = CrossEntropyLoss<Float>()
        var order = Random(seed: seed &+ 3)
        for _ in 1...classifierEpochs {
            for (images, labels) in train.batches(size: 64, using: &order) {
                let scores = classifier.fprop(images)
                classifier.zeroGrad()
                classifier.grad(images, crossEntropy.backward(scores, labels))
                sgd.step()
            }
        }
    }
    print(String(format: "classifier: test accuracy %.2f%%", accuracy(of: classifier, on: test) * 100))
    save(classifier, "classifier", to: saveClassifier)

    var real = GenerativeScores(classes: 10, features: 200)
    for (images, _) in test.batches(size: 1000) { real.add(classifier: classifier, featureLayer: featureLayer, images: images) }
    var generated = GenerativeScores(classes: 10, features: 200)
    var scoring = Random(seed: seed &+ 7)
    let pad = Pad2D<Float>(2)
    for start in stride(from: 0, to: sampleCount, by: 1000) {
        let fakes = generate(min(1000, sampleCount - start), using: &scoring)
        generated.add(classifier: classifier, featureLayer: featureLayer, images: pad.fprop(fakes))
    }
    // the floor of the distance: real digits against real digits (training against test)
    var realTrain = GenerativeScores(classes: 10, features: 200)
    let trainPart = paddedForLectureConvnet(mnist.train.prefix(min(sampleCount, mnist.train.count)))
    for (images, _) in trainPart.batches(size: 1000) { realTrain.add(classifier: classifier, featureLayer: featureLayer, images: images) }

    /// One line of the table: the score, the distance to the test digits, the class shares.
    func row(_ label: String, _ s: GenerativeScores, _ distance: Double) -> String {
        label.padding(toLength: 24, withPad: " ", startingAt: 0)
            + String(format: "%9.3f %12.2f   ", s.inceptionScore, distance)
            + s.classShares.map { String(format: "%5.1f", $0 * 100) }.joined(separator: " ")
    }
    print("                        inception  Fréchet dist.  share of each predicted class (%)")
    print("                            score  to test digits    0     1     2     3     4     5     6     7     8     9")
    print(row("\(generated.count) generated digits", generated, generated.frechetDistance(to: real)))
    print(row("\(real.count) real test digits", real, 0))
    print(row("\(realTrain.count) training digits", realTrain, realTrain.frechetDistance(to: real)))
}
print("total time \(clock.formatted) with \(threads) threads")
finishRun()
