// char-lstm: a character-level language model, in the spirit of Karpathy's char-rnn.
//
//   swift run -c release char-lstm [--text FILE] [--steps 3000] [--temperature 0.8] ...
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
let textOption = options.optionalString("text", "UTF-8 text file (else $TEXT_FILE, else ../shared/data/tinyshakespeare/input.txt)")
let steps = options.int("steps", 3000, "training steps (mini-batches)")
let length = options.int("seq", 100, "characters per training sequence (the BPTT length)")
let batchSize = options.int("batch", 32, "sequences per mini-batch")
let embeddingSize = options.int("embedding", 64, "embedding dimension")
let hidden = options.int("hidden", 256, "LSTM hidden units")
let learningRate = options.double("lr", 2e-3, "Adam learning rate")
let finalRate = options.double("final-lr", 2e-3, "learning rate reached at the last step (cosine decay from --lr)")
let clip = options.double("clip", 5, "clip gradients to this global norm (0: no clipping)")
let stateful = options.flag("stateful", "train on consecutive windows of parallel streams, carrying the LSTM state across batches (truncated BPTT) instead of random windows from a zero state")
let evalEvery = options.int("eval-every", 500, "steps between validation losses and samples")
let temperature = options.double("temperature", 0.8, "sampling temperature (0: always the likeliest character)")
let sampleLength = options.int("sample-length", 300, "characters per sample")
let primeOption = options.optionalString("prime", "text the samples start from (default: the text's first character)")
let seed = options.int("seed", 1, "random seed (initial weights, batches and samples)")
let threads = options.int("threads", Threads.count, "threads for OpenBLAS and the library")
options.require(steps >= 1, "--steps must be at least 1")
options.require(length >= 1 && batchSize >= 1, "--seq and --batch must be at least 1")
options.require(embeddingSize >= 1 && hidden >= 1, "--embedding and --hidden must be at least 1")
options.require(learningRate > 0 && finalRate >= 0, "--lr must be positive and --final-lr >= 0")
options.require(clip >= 0, "--clip must be >= 0")
options.require(evalEvery >= 1, "--eval-every must be at least 1")
options.require(temperature >= 0 && temperature.isFinite, "--temperature must be >= 0")
options.require(sampleLength >= 0, "--sample-length must be >= 0")
options.require(threads >= 1, "--threads must be at least 1")
options.finish()
Threads.count = threads

// 2. Data: the text, its vocabulary, a 90/10 split into training and validation text.
func locateText(_ option: String?) -> String {
    if let option { return option }
    if let env = ProcessInfo.processInfo.environment["TEXT_FILE"] { return env }
    let candidates = ["../shared/data/tinyshakespeare/input.txt", "Data/tinyshakespeare/input.txt"]
    return candidates.first { FileManager.default.fileExists(atPath: $0) } ?? candidates[0]
}
let corpus: CharacterCorpus
do {
    corpus = try CharacterCorpus(contentsOf: locateText(textOption), validationFraction: 0.1)
} catch {
    fail("error: \(error)\nGive a UTF-8 text file with --text FILE (or TEXT_FILE=FILE).")
}
guard corpus.train.count > length && corpus.validation.count > length + 1 else {
    fail("error: \(corpus.source) is too short for sequences of \(length) characters (\(corpus.train.count) for training, \(corpus.validation.count) for validation); lower --seq")
}
let prime: [Int]
do {
    prime = try primeOption.map { try corpus.encode($0) } ?? [corpus.train[0]]
} catch {
    fail("error: --prime: \(error)")
}
guard !prime.isEmpty else { fail("error: --prime must not be empty") }
print("\(corpus.source): \(corpus.train.count + corpus.validation.count) characters, vocabulary of \(corpus.vocabularySize); "
      + "\(corpus.train.count) for training, \(corpus.validation.count) for validation")

// 3. The model. Embedding turns each character index into a learned vector of 64
//    numbers; the LSTM reads the vectors in order; Linear scores every character of the
//    vocabulary as the next one. Shapes: indices [T, N] → [T, N, 64] → [T, N, 256] → [T, N, V].
Random.global = Random(seed: UInt64(seed))
let lstm = LSTM<Float>(embeddingSize, hidden)
let model = Sequential<Float> {
    Embedding<Float>(corpus.vocabularySize, embeddingSize)
    lstm
    Linear<Float>(hidden, corpus.vocabularySize)
}
print(model.description.replacingOccurrences(of: "[input ->", with: "[input [\(length), \(batchSize)] ->"))

// Cross-entropy over all T·N positions at once: the criterion reads [T, N, V] as T·N rows.
let loss = CrossEntropyLoss<Float>()
// Adam, with the gradient's global norm clipped at 5: an LSTM's gradient can spike when
// the recurrence amplifies it, and clipping keeps one bad batch from undoing training.
// The rate follows a cosine from --lr to --final-lr over the run (constant by default).
let optimizer = Adam(model.parameters, learningRate: learningRate,
                     schedule: .cosine(epochs: steps, minimum: finalRate), maxGradientNorm: clip > 0 ? clip : nil)

// 4. Evaluation: the mean cross-entropy over the whole validation text, cut into 128
//    parallel streams of consecutive windows. Each window starts from a zero state, as
//    the training windows do; with --stateful the state is carried from each window to
//    the next one of its stream instead. The training state is put back afterwards.
let log2e = 1 / M_LN2
func validationLoss() -> Double {
    let saved = (lstm.isStateful, lstm.initialState)
    defer { (lstm.isStateful, lstm.initialState) = saved }
    lstm.isStateful = stateful
    lstm.resetState()
    let streams = min(128, (corpus.validation.count - 1) / length)
    var total = 0.0, count = 0
    for (inputs, targets) in corpus.streamBatches(from: .validation, length: length, batchSize: streams) as StreamBatches<Float> {
        if !stateful { lstm.resetState() }
        total += Double(loss.forward(model.fprop(inputs), targets)) * Double(targets.count)
        count += targets.count
    }
    return total / Double(count)
}

// 5. Sampling: feed the prime, then feed each drawn character back in, one step at a
//    time (T = 1, N = 1), with the LSTM stateful so that it remembers the whole sample.
var sampler = Random(seed: UInt64(seed) &+ 2)
func sample(_ count: Int, temperature: Double) -> String {
    let saved = (lstm.isStateful, lstm.initialState)
    defer { (lstm.isStateful, lstm.initialState) = saved }
    lstm.isStateful = true
    lstm.resetState()
    var input = prime, drawn: [Int] = []
    for _ in 0..<count {
        let x = Tensor<Float>(shape: [input.count, 1], scalars: input.map(Float.init))   // a handful of indices
        let logits = model.fprop(x)                                                      // [T, 1, V]
        let last = logits[rows: (input.count - 1)..<input.count]                         // [1, 1, V]
        let next = sampleFromLogits(last, temperature: temperature, using: &sampler)[0]
        drawn.append(next)
        input = [next]
    }
    return corpus.decode(prime + drawn)
}

// 6. Training: each step takes 32 windows of 100 characters (inputs) and the same windows
//    shifted by one (targets), runs the model over them, backpropagates through the 100
//    steps, and updates. With --stateful, consecutive batches continue the same 32
//    streams of text and the LSTM starts each batch where the last one ended (truncated
//    BPTT: no gradient flows back across the boundary).
var batches = Random(seed: UInt64(seed) &+ 1)
var streamIterator = corpus.streamBatches(from: .train, length: length, batchSize: batchSize).makeIterator() as AnyIterator<(inputs: Tensor<Float>, targets: [Int])>
lstm.isStateful = stateful
func nextBatch() -> (inputs: Tensor<Float>, targets: [Int]) {
    guard stateful else { return corpus.randomBatch(length: length, batchSize: batchSize, using: &batches) }
    if let batch = streamIterator.next(), batch.inputs.shape[0] == length { return batch }
    // end of the training text: start the streams over, from a zero state
    streamIterator = corpus.streamBatches(from: .train, length: length, batchSize: batchSize).makeIterator()
    lstm.resetState()
    return streamIterator.next()!
}

let start = Date()
var progress = ProgressLine("steps 1-\(min(evalEvery, steps))", total: min(evalEvery, steps) * batchSize)
var finalLoss = Double.nan
for step in 1...steps {
    optimizer.epoch = step - 1                                   // the schedule's position
    let (inputs, targets) = nextBatch()
    let scores = model.fprop(inputs)                             // [T, N, V]
    let value = loss.forward(scores, targets)
    if !value.isFinite { fail("error: the loss became \(value) at step \(step): training diverged; try a lower --lr") }
    model.zeroGrad()
    model.grad(inputs, loss.backward(scores, targets))
    optimizer.step()
    progress.update(samples: batchSize, loss: Double(value))

    if step % evalEvery == 0 || step == steps {
        finalLoss = validationLoss()
        let rate = Double(step * batchSize * length) / Date().timeIntervalSince(start)
        progress.finish(String(format: "validation %.4f nats/char (%.3f bits/char)  [%d steps, %.0f chars/s overall, lr %.2g]",
                               finalLoss, finalLoss * log2e, step, rate, optimizer.currentLearningRate))
        print("  sample at temperature \(temperature): " + sample(sampleLength, temperature: temperature)
              .replacingOccurrences(of: "\n", with: "\n  "))
        fflush(stdout)
        let next = min(step + evalEvery, steps)
        if step < steps { progress = ProgressLine("steps \(step + 1)-\(next)", total: (next - step) * batchSize) }
    }
}
let elapsed = Date().timeIntervalSince(start)
print(String(format: "done: %d steps in %.1f s (%.2f steps/s, %.0f sequences/s, %.0f characters/s); validation loss %.4f nats/char = %.3f bits/char",
             steps, elapsed, Double(steps) / elapsed, Double(steps * batchSize) / elapsed,
             Double(steps * batchSize * length) / elapsed, finalLoss, finalLoss * log2e))
