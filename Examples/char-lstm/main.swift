// char-lstm: a character-level language model, in the spirit of Karpathy's char-rnn.
//
//   swift run -c release char-lstm [--text FILE] [--steps 4000] [--temperature 0.8] ...
//
// The model reads text one character at a time and, at every position, predicts the next
// character. Trained on Shakespeare it learns spelling, words, punctuation, the layout
// of a play (speaker names in capitals, a colon, a line break) and some grammar, all from
// raw characters. Its quality is the cross-entropy of its predictions on held-out text,
// in nats per character (or bits: nats / ln 2); a model that knew nothing but letter
// frequencies would score about 3.3 nats on Shakespeare, a good small LSTM about 1.4.
//
// The text: --text FILE, else $TEXT_FILE, else ../shared/data/tinyshakespeare/input.txt,
// else ./Data/tinyshakespeare/input.txt (any UTF-8 text works; every distinct character
// becomes one entry of the vocabulary).

import Backprop
import ExampleSupport
import Foundation

// 1. Options.
let options = Options("char-lstm", "train a character-level LSTM language model and sample from it")
let textOption = options.inputFile("text", "UTF-8 text file (else $TEXT_FILE, else ../shared/data/tinyshakespeare/input.txt)")
let steps = options.int("steps", 4000, "training steps (mini-batches)", range: Limits.steps)
let length = options.int("seq", 100, "characters per training sequence (the BPTT length)", range: 1...100_000)
let batchSize = options.int("batch", 32, "sequences per mini-batch", range: Limits.batchSize)
let embeddingSize = options.int("embedding", 64, "embedding dimension", range: Limits.layerSize)
let hidden = options.int("hidden", 256, "LSTM hidden units", range: Limits.layerSize)
let learningRate = options.double("lr", 6e-3, "Adam's learning rate at the first step")
let finalRate = options.double("final-lr", 1e-4, "Adam's learning rate at the last step (a cosine from --lr)")
let clip = options.double("clip", 5, "clip gradients to this global norm (0: no clipping)")
let randomWindows = options.flag(
    "random-windows",
    "train on windows at random places, each from a zero state, instead of consecutive windows of 32 streams with the state carried across batches"
)
let evalEvery = options.int("eval-every", 500, "steps between validation losses and samples", range: Limits.steps)
let temperature = options.double("temperature", 0.8, "sampling temperature (0: always the likeliest character)")
let sampleLength = options.int("sample-length", 300, "characters per sample", range: 0...1_000_000)
let primeOption = options.optionalString("prime", "text the samples start from (default: the text's first character)")
let seed = options.seed(1, "random seed (initial weights, batches and samples)")
let threads = options.threads()
let outDir = options.outputDirectory("out", ".", "directory for the training curves (char-lstm-curves.svg)")
let checkpoints = CheckpointOptions(options)
options.require(length >= 1 && batchSize >= 1, "--seq and --batch must be at least 1")
options.require(embeddingSize >= 1 && hidden >= 1, "--embedding and --hidden must be at least 1")
options.require(learningRate > 0 && finalRate >= 0, "--lr must be positive and --final-lr >= 0")
options.require(clip >= 0, "--clip must be >= 0")
options.require(temperature >= 0 && temperature.isFinite, "--temperature must be >= 0")
options.requireParameterCount(4 * Double(hidden) * Double(embeddingSize + hidden + 2), "--embedding and --hidden")
options.requireActivations(batch: length * batchSize, width: 4 * hidden, "--seq, --batch and --hidden") // the gates of every step
options.finish()
Threads.count = threads

// 2. Data: the text, its vocabulary, a 90/10 split into training and validation text.
let corpus: CharacterCorpus
do {
    corpus = try CharacterCorpus(contentsOf: locateText(textOption), validationFraction: 0.1)
} catch {
    fail("error: \(error)\nGive a UTF-8 text file with --text FILE (or TEXT_FILE=FILE).")
}
// Enough text for the windows? Consecutive windows need --batch streams of at least --seq
// characters (+1 for the last target); random windows one window; validation one window.
let trainingNeed = randomWindows ? length + 1 : batchSize * length + 1
guard corpus.train.count >= trainingNeed && corpus.validation.count >= length + 2 else {
    fail(
        """
        \(programName): \(corpus.source) is too short for these options: it has \(corpus.train.count + corpus.validation.count) characters, \(corpus.train.count) for training and \(corpus.validation.count) for validation (the last 10 %).
        \(randomWindows ? "--seq \(length) needs \(trainingNeed) training characters"
                        : "--batch \(batchSize) streams of --seq \(length) characters need \(trainingNeed) training characters (batch × seq + 1)"), and \(length + 2) for validation.
        Give a longer text, or lower --seq or --batch.
        """)
}
let prime: [Int]
do {
    prime = try primeOption.map { try corpus.encode($0) } ?? [corpus.train[0]]
} catch {
    fail("error: --prime: \(error)")
}
guard !prime.isEmpty else { fail("error: --prime must not be empty") }
print(
    "\(corpus.source): \(corpus.train.count + corpus.validation.count) characters, vocabulary of \(corpus.vocabularySize); "
        + "\(corpus.train.count) for training, \(corpus.validation.count) for validation")

// 3. The model. Embedding turns each character index into a learned vector of 64
//    numbers; the LSTM reads the vectors in order; Linear scores every character of the
//    vocabulary as the next one. Shapes: indices [T, N] → [T, N, 64] → [T, N, 256] → [T, N, V].
Random.global = Random(seed: seed)
// (ExampleSupport/GenerativeModels.swift: the network backprop-bench's charlstm workload times)
let (model, lstm) = characterLanguageModel(vocabulary: corpus.vocabularySize, embedding: embeddingSize, hidden: hidden)
print(model.description.replacingOccurrences(of: "[input ->", with: "[input [\(length), \(batchSize)] ->"))

// Cross-entropy over all T·N positions at once: the criterion reads [T, N, V] as T·N rows.
let loss = CrossEntropyLoss<Float>()
// Adam, with the gradient's global norm clipped at 5: an LSTM's gradient can spike when
// the recurrence amplifies it, and clipping keeps one bad batch from undoing training.
// The rate follows a cosine from 6e-3 down to 1e-4 over the run: a high rate to learn
// fast at first, a low one to settle at the end. (The classic recipe, a constant 2e-3,
// reaches 1.54 nats/char in 3,000 steps here; this schedule 1.488–1.498 in 3,000 steps
// over three seeds, and lower in the default 4,000, which take under 5 minutes on 2 cores.)
let optimizer = Adam(
    model.parameters, learningRate: learningRate,
    schedule: .cosine(epochs: steps, minimum: finalRate), maxGradientNorm: clip > 0 ? clip : nil)
optimizer.stepsPerEpoch = 1 // (the cosine counts steps)

// 4. Evaluation: the mean cross-entropy over the whole validation text, read as 128
//    parallel streams of consecutive windows of --seq characters. It is measured twice:
//    with the LSTM's state carried from each window to the next one of its stream, so that
//    every character is predicted from all the text before it (the model's loss on the
//    validation text, the headline figure), and with each window starting from a zero
//    state (its first characters are then predicted with little context, so the loss is
//    higher). The training state is put back afterwards.
let log2e = 1 / M_LN2
@MainActor func validationLoss(carryingState: Bool) -> Double {
    let saved = (lstm.isStateful, lstm.initialState)
    defer { (lstm.isStateful, lstm.initialState) = saved }
    lstm.isStateful = carryingState
    lstm.resetState()
    let streams = min(128, (corpus.validation.count - 1) / length)
    var total = 0.0, count = 0
    for (inputs, targets) in corpus.streamBatches(from: .validation, length: length, batchSize: streams) as StreamBatches<Float> {
        if !carryingState { lstm.resetState() }
        total += Double(loss.forward(model.fprop(inputs), targets)) * Double(targets.count)
        count += targets.count
    }
    return total / Double(count)
}

// 5. Sampling: feed the prime, then feed each drawn character back in, one step at a
//    time (T = 1, N = 1), with the LSTM stateful so that it remembers the whole sample.
var sampler = Random(seed: seed &+ 2)
@MainActor func sample(_ count: Int, temperature: Double) -> String {
    let saved = (lstm.isStateful, lstm.initialState)
    defer { (lstm.isStateful, lstm.initialState) = saved }
    lstm.isStateful = true
    lstm.resetState()
    var input = prime, drawn: [Int] = []
    for _ in 0..<count {
        let x = Tensor<Float>(shape: [input.count, 1], scalars: input.map(Float.init)) // a handful of indices
        let logits = model.fprop(x) // [T, 1, V]
        let last = logits[rows: (input.count - 1)..<input.count] // [1, 1, V]
        let next = sampleFromLogits(last, temperature: temperature, using: &sampler)[0]
        drawn.append(next)
        input = [next]
    }
    return corpus.decode(prime + drawn)
}

// A saved model? With --load we only measure it on the validation text and sample from it.
if checkpoints.evaluateOnly {
    checkpoints.loadModel(model)
    let carried = validationLoss(carryingState: true), zeroState = validationLoss(carryingState: false)
    print(
        String(
            format: "validation %.4f nats/char = %.3f bits/char (%.4f from a zero state per window)", carried, carried * log2e, zeroState))
    print("sample at temperature \(temperature): " + sample(sampleLength, temperature: temperature))
    checkpoints.saveModel(model)
    finishRun()
    exit(0)
}

// 6. Training: truncated backpropagation through time. The training text is cut into 32
//    streams; each step takes the next window of 100 characters of every stream (inputs)
//    and the same windows shifted by one (targets), runs the model over them,
//    backpropagates through the 100 steps, and updates. The LSTM is stateful: it starts
//    each batch where the last one ended, so it learns from context longer than a window,
//    but no gradient flows back across the boundary. (--random-windows: windows at random
//    places, each from a zero state.)
var batches = Random(seed: seed &+ 1)
var streamIterator =
    corpus.streamBatches(from: .train, length: length, batchSize: batchSize).makeIterator()
    as AnyIterator<(inputs: Tensor<Float>, targets: [Int])>
lstm.isStateful = !randomWindows
@MainActor func nextBatch() -> (inputs: Tensor<Float>, targets: [Int]) {
    if randomWindows { return corpus.randomBatch(length: length, batchSize: batchSize, using: &batches) }
    if let batch = streamIterator.next(), batch.inputs.shape[0] == length { return batch }
    // end of the training text: start the streams over, from a zero state
    streamIterator = corpus.streamBatches(from: .train, length: length, batchSize: batchSize).makeIterator()
    lstm.resetState()
    return streamIterator.next()!
}

// --resume: weights, Adam's moments, the step and the generators come back; the streams
// are fast-forwarded to the same place. (The LSTM state carried between windows is not
// saved: the first window after a resume starts from zeros. With --random-windows every
// window starts from zeros anyway, and a resumed run is bit-identical.)
var state = TrainingState()
if let resumed = checkpoints.resume(model, optimizer, generators: ["batches", "sampler"]) {
    state = resumed
    batches = resumed.generators["batches"]!
    sampler = resumed.generators["sampler"]!
    if !randomWindows { for _ in 0..<min(state.step, steps) { _ = nextBatch() } }
    lstm.resetState()
    if state.step >= steps { print("the checkpoint has done \(state.step) steps; --steps \(steps) asks for no more") }
}

checkpoints.divergenceCause = "the learning rate --lr \(learningRate) is probably too high" + (clip > 0 ? "" : ", or try --clip 5")
let start = Date()
let firstStep = state.step + 1
var progress = ProgressLine(
    "steps \(firstStep)-\(min(evalEvery * ((firstStep - 1) / evalEvery + 1), steps))",
    total: max(1, min(evalEvery * ((firstStep - 1) / evalEvery + 1), steps) - firstStep + 1) * batchSize)
var finalLoss = Double.nan, finalZeroStateLoss = Double.nan
let curves = Curves(metricAxis: "step") // the loss of every step, the validation losses
for step in stride(from: firstStep, through: steps, by: 1) {
    let (inputs, targets) = nextBatch()
    let scores = model.fprop(inputs) // [T, N, V]
    let value = loss.forward(scores, targets)
    checkpoints.check(loss: Double(value), model, step: step) // a NaN stops the run
    model.zeroGrad()
    model.grad(inputs, loss.backward(scores, targets))
    checkpoints.check(gradientNorm: optimizer.step(), model, step: step) // (the norm clipping computed)
    progress.update(samples: batchSize, loss: Double(value))
    curves.record(step: step, loss: Double(value))

    if step % evalEvery == 0 || step == steps {
        finalLoss = validationLoss(carryingState: true)
        finalZeroStateLoss = validationLoss(carryingState: false)
        curves.record(metric: "validation", value: finalLoss, unit: "nats/char", at: Double(step))
        curves.record(metric: "validation, zero state per window", value: finalZeroStateLoss, unit: "nats/char", at: Double(step))
        let rate = Double((step - firstStep + 1) * batchSize * length) / Date().timeIntervalSince(start)
        progress.finish(
            String(
                format:
                    "validation %.4f nats/char = %.3f bits/char (%.4f from a zero state per window)  [%d steps, %.0f chars/s overall, lr %.2g]",
                finalLoss, finalLoss * log2e, finalZeroStateLoss, step, rate, optimizer.currentLearningRate))
        print(
            "  sample at temperature \(temperature): "
                + sample(sampleLength, temperature: temperature)
                .replacingOccurrences(of: "\n", with: "\n  "))
        fflush(nil)
        let next = min(step + evalEvery, steps)
        if step < steps { progress = ProgressLine("steps \(step + 1)-\(next)", total: (next - step) * batchSize) }
        // --checkpoint-dir: a training checkpoint at every evaluation
        state.step = step
        state.epoch = (step + evalEvery - 1) / evalEvery
        state.generators = ["batches": batches, "sampler": sampler]
        checkpoints.epochFinished(model, optimizer, state)
    }
}
checkpoints.saveModel(model)
curves.write(to: outDir) // char-lstm-curves.svg
let elapsed = Date().timeIntervalSince(start)
let trained = max(steps - firstStep + 1, 0)
print(
    String(
        format:
            "done: %d steps in %.1f s (%.2f steps/s, %.0f sequences/s, %.0f characters/s); validation loss %.4f nats/char = %.3f bits/char (%.4f from a zero state per window)",
        trained, elapsed, Double(trained) / elapsed, Double(trained * batchSize) / elapsed,
        Double(trained * batchSize * length) / elapsed, finalLoss, finalLoss * log2e, finalZeroStateLoss))
finishRun() // status 1 if a checkpoint could not be written
