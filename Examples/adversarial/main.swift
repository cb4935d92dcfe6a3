// adversarial: adversarial examples (the fast gradient sign method) against a digit
// classifier, and adversarial training as the defence.
//
//   swift run -c release adversarial [--model convnet|mlp] [--epochs 4] [--adv-epochs 4] [--out DIR]
//   swift run -c release adversarial --load convnet.safetensors      # the classifier of `mnist-convnet --save`
//   swift run -c release adversarial --model mlp --load mlp.safetensors   # `mnist-mlp --save` (784-1024-1024-10; --hidden as there)
//   swift run -c release adversarial --save plain.safetensors --save-adversarial robust.safetensors
//
// A network that reads digits at 99 % can be fooled by changes a person barely notices.
// Goodfellow, Shlens and Szegedy (2015) explain why: a linear function of many inputs,
// wᵀx, moves by ε‖w‖₁ when every input moves by ε in the direction of sign(w), and with
// 784 inputs that is a lot even for a small ε. A network of ReLUs is linear enough for the
// same to happen, so the *fast gradient sign method* (FGSM) takes one step of size ε per
// pixel in the direction that increases the loss J the most, to first order:
//
//   x_adv = clip(x + ε · sign(∂J/∂x), 0, 1)
//
// The gradient with respect to the input is exactly what `bprop` computes (the parameters'
// gradients are not touched), so an attack is one forward and one backward pass.
//
// The defence of the same paper is to train on such examples as they are made, from the
// current model at each step, with the loss α·J(x) + (1 − α)·J(x_adv): adversarial
// training "fakes more data" in the directions the model is weakest.
//
// The example (1) trains (or loads) a plain classifier, (2) measures its test accuracy
// under FGSM for several ε, (3) trains a second classifier adversarially, (4) prints both
// tables side by side, with a third column: the plain model's adversarial examples shown
// to the adversarially trained one ("transferred"), and (5) writes a picture.
//
// --load, --save, --checkpoint-dir and --resume concern the plain classifier (--load
// skips its training; the adversarial part still runs); --load-adversarial and
// --save-adversarial the adversarially trained one.

import Backprop
import ExampleSupport
import Foundation

// 1. Options.
let options = Options(
    "adversarial",
    "FGSM adversarial examples against a digit classifier, and adversarial training\n"
        + "(--load/--save/--checkpoint-dir/--resume: the plain classifier; --load-adversarial/--save-adversarial: the robust one)")
let dataOption = options.mnistData() // checked now: every file there
let modelKind = options.string(
    "model", "convnet", "classifier: convnet (the lecture's, as mnist-convnet) or mlp (784-1024-1024-10, as mnist-mlp)")
let hidden = options.ints("hidden", [1024, 1024], "with --model mlp: hidden layer sizes (as mnist-mlp's --hidden)", range: Limits.layerSize)
let epochs = options.int("epochs", 4, "passes of the plain training", range: Limits.epochs)
let adversarialEpochs = options.int("adv-epochs", 4, "passes of the adversarial training", range: Limits.epochs)
let batchSize = options.int("batch", 64, "examples per mini-batch", range: Limits.batchSize)
let learningRate = options.double("lr", 0.05, "learning rate of both trainings (SGD, cosine schedule to 0)")
let momentum = options.double("momentum", 0.9, "SGD momentum")
let alpha = options.double("alpha", 0.5, "weight α of the clean loss in α·J(x) + (1−α)·J(x_adv)")
let trainingEpsilon = options.double("train-epsilon", 0.25, "ε of the adversarial examples made during adversarial training")
let epsilonsText = options.string("epsilons", "0,0.05,0.1,0.2,0.25,0.3", "the ε of the accuracy table (pixels are in [0, 1])")
let shownEpsilon = options.double("show-epsilon", 0.25, "ε of the adversarial digits in the picture")
let shown = options.int("examples", 10, "test digits in the picture", range: 1...100)
let seed = options.seed(1, "random seed (initial weights and batch order)")
let threads = options.threads()
let outDirectory = options.outputDirectory("out", ".", "directory for the PNG figures")
let checkpoints = CheckpointOptions(options) // --save, --load, --checkpoint-dir, --resume: the plain classifier
let loadAdversarial = options.inputFile("load-adversarial", "load the adversarially trained classifier from FILE (no adversarial training)")
let saveAdversarial = options.outputFile(
    "save-adversarial", "save the adversarially trained classifier to FILE (safetensors, PyTorch names)")
let epsilons = epsilonsText.split(separator: ",", omittingEmptySubsequences: false)
    .map { Double($0.trimmingCharacters(in: .whitespaces)) }
options.require(["convnet", "mlp"].contains(modelKind), "--model must be convnet or mlp, got '\(modelKind)'")
options.require(
    !epsilons.isEmpty && epsilons.allSatisfy { $0 != nil && (0...1).contains($0!) },
    "--epsilons must be a comma-separated list of numbers in [0, 1], got '\(epsilonsText)'")
options.require(learningRate > 0, "--lr must be positive")
options.require((0..<1).contains(momentum), "--momentum must be in [0, 1)")
options.require((0...1).contains(alpha), "--alpha must be in [0, 1], got \(alpha)")
options.require((0...1).contains(trainingEpsilon), "--train-epsilon must be in [0, 1], got \(trainingEpsilon)")
options.require((0...1).contains(shownEpsilon), "--show-epsilon must be in [0, 1], got \(shownEpsilon)")
options.require(
    !(loadAdversarial != nil && saveAdversarial != nil && loadAdversarial == saveAdversarial),
    "--load-adversarial and --save-adversarial name the same file")
let mlpSizes = [28 * 28] + hidden + [10]
options.require(modelKind == "mlp" || hidden == [1024, 1024], "--hidden is for --model mlp (the convnet's sizes are fixed)")
options.requireParameterCount(zip(mlpSizes, mlpSizes.dropFirst()).reduce(0.0) { $0 + Double($1.0 + 1) * Double($1.1) }, "--hidden")
options.requireActivations(batch: batchSize, width: modelKind == "mlp" ? (hidden.max() ?? 1) : 16 * 28 * 28, "--batch")
options.finish()
Threads.count = threads
let tableEpsilons = epsilons.map { $0! }
let clock = Stopwatch()

// 2. Data: pixels in [0, 1], labels 0…9. The attack moves the 28×28 digit itself. The
//    lecture's convnet takes 32×32 inputs, so for it the classifier that is attacked (and
//    trained) is Pad2D(2) followed by the network: the attack sees the digit, and the
//    border stays 0, as in the images the network was trained on.
let mnist: MNIST<Float> = loadMNIST(locateMNIST(dataOption), layout: modelKind == "mlp" ? .flat : .image)
let (train, test) = (mnist.train, mnist.test)
print(
    "MNIST: \(train.count) training and \(test.count) test images of \(Array(train.images.shape.dropFirst())), \(train.classCount) classes")
let pixels = train.images.count / max(train.count, 1)

/// A classifier: the network that is saved and loaded, and the module the attack and the
/// training see (the network itself, or the padding then the network).
struct Classifier {
    let network: Sequential<Float>
    let model: Sequential<Float>
}

@MainActor func makeClassifier() -> Classifier {
    if modelKind == "mlp" {
        let network: Sequential<Float> = perceptron([pixels] + hidden + [train.classCount]) // (ExampleSupport/Classifiers.swift)
        return Classifier(network: network, model: network)
    }
    let network: Sequential<Float> = lectureConvnet(channels: 1, classes: train.classCount)
    return Classifier(network: network, model: Sequential<Float>([Pad2D<Float>(2), network]))
}

let loss = CrossEntropyLoss<Float>()

// 3. The plain classifier, trained as mnist-convnet (or mnist-mlp) trains it: fprop, loss,
//    grad, step, with SGD, momentum and a cosine schedule.
Random.global = Random(seed: seed)
let plain = makeClassifier()
do {
    _ = try plain.model.outputShape(for: [batchSize] + Array(train.images.shape.dropFirst()))
} catch {
    fail("adversarial: the \(modelKind) cannot take these images: \(error)")
}
print(plain.network.description)

/// Trains `classifier` for `epochs` epochs; `step` returns the batch's loss after
/// accumulating the gradients, the optimizer steps after it.
@MainActor func fit(
    _ classifier: Classifier, epochs: Int, title: String, checkpointed: Bool,
    step: @escaping (_ images: Tensor<Float>, _ labels: [Int]) -> Double
) -> Double {
    let optimizer = SGD(
        classifier.network.parameters, learningRate: learningRate, momentum: momentum,
        schedule: .cosine(epochs: epochs, minimum: 0))
    let loop = TrainingLoop(
        classifier.network, optimizer, checkpoints, epochs: epochs, shuffle: Random(seed: seed &+ 1),
        title: title, checkpointed: checkpointed)
    loop.run(on: train, batchSize: batchSize) { images, labels in
        classifier.model.zeroGrad()
        let value = step(images, labels)
        loop.check(loss: value) // a NaN stops the run
        optimizer.step()
        return value
    } endOfEpoch: { _ in
        String(format: "lr %.4f  test accuracy %.2f%%", optimizer.currentLearningRate, accuracy(of: classifier.model, on: test) * 100)
    }
    return loop.trainingSeconds
}

checkpoints.divergenceCause = "the learning rate --lr \(learningRate) is probably too high"
let plainClock = Stopwatch()
if checkpoints.loadPath != nil {
    checkpoints.loadModel(plain.network) // --load: no plain training
} else {
    _ = fit(plain, epochs: epochs, title: "plain", checkpointed: true) { images, labels in
        let scores = plain.model.fprop(images)
        let value = Double(loss.forward(scores, labels))
        plain.model.grad(images, loss.backward(scores, labels))
        return value
    }
}
checkpoints.saveModel(plain.network) // --save
let plainSeconds = plainClock.seconds

// 4. The attack. For a batch, ∂J/∂x is one fprop and one bprop (`inputGradient`), in
//    evaluation mode, the network as it is used. One gradient serves every ε: x_adv =
//    clip(x + ε · sign(∂J/∂x), 0, 1) is `fgsm(input:gradient:epsilon:)`. We keep the plain
//    model's gradients of the whole test set (for the transfer column later).
let evaluationBatch = 500

/// The number of correct predictions of `model` on `images`.
func correct(_ model: Sequential<Float>, _ images: Tensor<Float>, _ labels: [Int]) -> Int {
    zip(model.fprop(images).argmax(), labels).filter { $0 == $1 }.count
}

/// For each ε of the table: the test accuracy of `model` under FGSM made on `model`
/// itself, and (with `transferTo`) the accuracy of that other model on the same examples.
/// Also returns the input gradients, batch after batch.
@MainActor func attackTable(_ model: Sequential<Float>, transferTo other: Sequential<Float>? = nil)
    -> (own: [Double], transferred: [Double], gradients: [Tensor<Float>])
{
    model.isTraining = false
    other?.isTraining = false
    var own = [Int](repeating: 0, count: tableEpsilons.count), transferred = own
    var gradients: [Tensor<Float>] = []
    for (images, labels) in test.batches(size: evaluationBatch) {
        let g = inputGradient(model: model, criterion: loss, input: images, target: labels)
        gradients.append(g)
        for (k, epsilon) in tableEpsilons.enumerated() {
            let adversarial = fgsm(input: images, gradient: g, epsilon: epsilon)
            own[k] += correct(model, adversarial, labels)
            if let other { transferred[k] += correct(other, adversarial, labels) }
        }
    }
    let n = Double(test.count)
    return (own.map { Double($0) / n }, transferred.map { Double($0) / n }, gradients)
}

let attackClock = Stopwatch()
let plainTable = attackTable(plain.model)
let plainAttackSeconds = attackClock.seconds
print("\nFGSM on the plain \(modelKind) (test accuracy on x + ε·sign(∂J/∂x), clipped to [0, 1]):")
for (epsilon, value) in zip(tableEpsilons, plainTable.own) { print(String(format: "  ε = %.2f   %6.2f%%", epsilon, value * 100)) }

// 5. Adversarial training: a second classifier of the same architecture, from the same
//    initial weights, trained on α·J(x) + (1 − α)·J(x_adv). At every step x_adv is made
//    from the current model (in training mode, as it is at that moment), then both terms
//    add their gradients into the same `grad`: accumulation is what the verbs are for.
Random.global = Random(seed: seed)
let robust = makeClassifier()
let adversarialClock = Stopwatch()
if let path = loadAdversarial {
    do { try robust.network.load(from: path) } catch { fail("adversarial: cannot load --load-adversarial \(path):\n\(error)") }
    print("loaded \(robust.network.parameterCount) parameters from \(path) (no adversarial training)")
} else {
    _ = fit(robust, epochs: adversarialEpochs, title: "adversarial", checkpointed: false) { images, labels in
        let model = robust.model
        let adversarial = fgsm(model: model, criterion: loss, input: images, target: labels, epsilon: trainingEpsilon)
        let clean = model.fprop(images)
        let cleanLoss = Double(loss.forward(clean, labels))
        model.grad(images, loss.backward(clean, labels) * Float(alpha)) // α·∂J(x)/∂θ
        let attacked = model.fprop(adversarial)
        let attackedLoss = Double(loss.forward(attacked, labels))
        model.grad(adversarial, loss.backward(attacked, labels) * Float(1 - alpha)) // + (1−α)·∂J(x_adv)/∂θ
        return alpha * cleanLoss + (1 - alpha) * attackedLoss
    }
}
let adversarialSeconds = adversarialClock.seconds
if let path = saveAdversarial {
    if !robust.network.parameters.allSatisfy({ $0.value.scalars.allSatisfy(\.isFinite) }) {
        fail("adversarial: the adversarially trained weights are not finite; not saved to \(path)")
    }
    do { try robust.network.save(to: path, metadata: ["command": CommandLine.arguments.joined(separator: " ")]) } catch {
        fail("adversarial: --save-adversarial: \(error)")
    }
    print("saved the adversarially trained model to \(path)")
}

// 6. The table, side by side: each model attacked with its own gradients (white box), and
//    the plain model's adversarial examples shown to the adversarially trained model.
let robustClock = Stopwatch()
let robustTable = attackTable(robust.model)
var transferred = [Int](repeating: 0, count: tableEpsilons.count)
robust.model.isTraining = false
for ((images, labels), g) in zip(test.batches(size: evaluationBatch), plainTable.gradients) {
    for (k, epsilon) in tableEpsilons.enumerated() {
        transferred[k] += correct(robust.model, fgsm(input: images, gradient: g, epsilon: epsilon), labels)
    }
}
let robustAttackSeconds = robustClock.seconds
print("\nTest accuracy under FGSM (\(test.count) test digits, pixels in [0, 1], clipped):")
let columns = ["plain \(modelKind)", "adversarially trained", "plain's examples → adv. trained"]
print("    ε   | " + columns.joined(separator: " | "))
for (k, epsilon) in tableEpsilons.enumerated() {
    let cells = [plainTable.own[k], robustTable.own[k], Double(transferred[k]) / Double(test.count)].enumerated().map { i, value in
        String(format: "%7.2f%%", value * 100).padding(toLength: columns[i].count, withPad: " ", startingAt: 0)
    }
    let line = String(format: "  %.2f  | ", epsilon) + cells.joined(separator: " | ")
    print(line.replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression))
}

// 7. The picture: for the first test digits, the clean digit, the perturbation ε·sign(∂J/∂x)
//    (grey is 0, white +ε, black −ε) and the adversarial digit, one row each, for the plain
//    model (adversarial-plain.png) and for the adversarially trained one
//    (adversarial-trained.png). The predicted labels and confidences are printed below
//    (a caption table), not drawn.
let firstImages = test.images[rows: 0..<min(shown, test.count)]
let firstLabels = Array(test.labels.prefix(shown))
let softmax = Softmax<Float>()

/// Predicted class and its softmax probability for each image.
@MainActor func predictions(_ model: Sequential<Float>, _ images: Tensor<Float>) -> [(label: Int, confidence: Float)] {
    let p = softmax.fprop(model.fprop(images))
    let classes = p.argmax(), cols = p.matrixShape.cols
    return classes.enumerated().map { ($1, p.scalars[$0 * cols + $1]) }
}

@MainActor func picture(_ classifier: Classifier, _ name: String, _ title: String) {
    let model = classifier.model
    model.isTraining = false
    let adversarial = fgsm(model: model, criterion: loss, input: firstImages, target: firstLabels, epsilon: shownEpsilon)
    let n = firstLabels.count
    let delta = adversarial - firstImages
    let shownDelta = shownEpsilon > 0 ? delta * Float(0.5 / shownEpsilon) + Float(0.5) : delta + Float(0.5)
    writeImageRows(
        [firstImages, shownDelta, adversarial].map { $0.reshaped([n, pixels]) },
        to: figurePath(outDirectory, name), imageShape: squareImageShape(pixels: pixels) ?? (28, 28))
    let before = predictions(model, firstImages), after = predictions(model, adversarial)
    let onRobust = classifier.network === plain.network ? predictions(robust.model, adversarial) : nil
    print(
        "\(title), ε = \(shownEpsilon): label, prediction on the clean digit, on the adversarial one"
            + (onRobust == nil ? ":" : ", and the adversarially trained model's prediction on it:"))
    for i in 0..<n {
        var line = String(
            format: "  %2d: %d   %d (%5.1f%%)   %d (%5.1f%%)", i + 1, firstLabels[i],
            before[i].label, before[i].confidence * 100, after[i].label, after[i].confidence * 100)
        if let onRobust { line += String(format: "   %d (%5.1f%%)", onRobust[i].label, onRobust[i].confidence * 100) }
        print(line)
    }
}
print("")
picture(plain, "adversarial-plain.png", "plain \(modelKind)")
picture(robust, "adversarial-trained.png", "adversarially trained \(modelKind)")

print(
    String(
        format:
            "\ntimes: plain training %.1f s, its attack table %.1f s, adversarial training %.1f s, its table and the transfer %.1f s; total %@ with --threads %d",
        plainSeconds, plainAttackSeconds, adversarialSeconds, robustAttackSeconds, clock.formatted, threads))
finishRun() // status 1 if a figure could not be written
