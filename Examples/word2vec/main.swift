// word2vec: word vectors from skip-gram with negative sampling (Mikolov et al. 2013).
//
//   swift run -c release word2vec [--text FILE] [--epochs 5] [--threads 2] [--out DIR] ...
//
// Every word of the vocabulary gets two vectors of 100 numbers: an input vector (the one we
// keep as the word's embedding) and an output vector. Training slides over the text; each
// word, seen with a word near it, should make the dot product of its input vector with the
// neighbour's output vector large, and with the output vectors of a few words drawn at
// random (the "negatives") small: a logistic regression per pair, whose parameters are the
// vectors themselves. Words used in the same contexts end up with similar input vectors,
// so the nearest neighbours of "king" (by cosine) are other titles and names.
//
// The recipe is word2vec's, and gensim's defaults for skip-gram: dimension 100, window 5
// (each word draws a window of 1 to 5 words), 5 negatives from the unigram distribution to
// the 3/4 power, words seen fewer than 5 times dropped, frequent words subsampled
// (sample = 1e-3), 5 epochs, a learning rate falling linearly from 0.025 to 0.0001.
// Scripts/word2vec-gensim.py trains gensim on the same tokens and compares.
//
// The text: --text FILE, else $TEXT_FILE, else ../shared/data/tinyshakespeare/input.txt,
// else ./Data/tinyshakespeare/input.txt. Tokens: the text lowercased, split on everything
// that is not a letter or an apostrophe (`WordCorpus.tokenize`).

import Backprop
import ExampleSupport
import Foundation

// 1. Options.
let options = Options("word2vec", "train skip-gram word vectors with negative sampling and show nearest neighbours")
let textOption = options.inputFile("text", "UTF-8 text file (else $TEXT_FILE, else ../shared/data/tinyshakespeare/input.txt)")
let dimension = options.int("dim", 100, "vector dimension", range: 1...10_000)
let window = options.int("window", 5, "largest window: each word sees 1 to this many words on each side", range: 1...1000)
let negatives = options.int("negative", 5, "negatives per pair", range: 1...1000)
let minCount = options.int("min-count", 5, "drop words seen fewer times", range: 1...1_000_000_000)
let epochs = options.int("epochs", 5, "passes over the text", range: 1...10_000)
let sample = options.double("sample", 1e-3, "subsampling threshold for frequent words (0: none)", range: 0...1)
let learningRate = options.double("lr", 0.025, "learning rate at the start", range: 1e-9...10)
let finalRate = options.double("min-lr", 0.0001, "learning rate at the end (linear from --lr)", range: 0...10)
let sentenceLength = options.int("sentence", 1000, "tokens per sentence: windows do not cross sentences", range: 2...10_000)
let queryOption = options.string("words", "king,love,he,good,night", "comma-separated words whose nearest neighbours are printed")
let plotCount = options.int("plot", 200, "number of most frequent words in the PCA scatter", range: 0...100_000)
let seed = options.seed(1, "random seed (initial vectors, subsampling, windows, negatives)")
let threads = options.threads()
let outDir = options.outputDirectory(
    "out", ".", "directory for word2vec.safetensors, word2vec.txt (word2vec text format) and word2vec-pca.svg")
options.require(finalRate <= learningRate, "--min-lr must not exceed --lr")
options.finish()
Threads.count = threads

// 2. Data: the tokens, the vocabulary (words seen at least --min-count times, most frequent
//    first) and the text as a stream of word indices.
let corpus: WordCorpus
do {
    corpus = try WordCorpus(contentsOf: locateText(textOption), minCount: minCount)
} catch {
    fail("error: \(error)\nGive a UTF-8 text file with --text FILE (or TEXT_FILE=FILE).")
}
let vocabulary = corpus.vocabularySize
guard corpus.tokens.count >= 2 else { fail("error: \(corpus.source): fewer than 2 tokens in the vocabulary: nothing to train on") }
print(
    "\(corpus.source): \(corpus.rawTokenCount) tokens, \(vocabulary) words seen at least \(minCount) times "
        + "(\(corpus.tokens.count) tokens of them); most frequent: \(corpus.words.prefix(8).joined(separator: ", "))")

// 3. Subsampling: a word of frequency f (count / tokens) is kept with probability
//    (√(f / sample) + 1) · sample / f, capped at 1 (word2vec's C code and gensim): "the"
//    and "and" lose most of their occurrences, rare words none. Kept as a 32-bit threshold.
let total = Double(corpus.tokens.count)
let keep: [UInt64] = corpus.counts.map { count in
    guard sample > 0 else { return 1 << 32 }
    let t = sample * total, p = (sqrt(Double(count) / t) + 1) * t / Double(count)
    return UInt64(min(p, 1) * 4294967296.0)
}

// 4. The noise distribution: negatives are drawn with probability ∝ count^¾ (a flattened
//    unigram distribution), in constant time from an alias table.
let noise = AliasTable(weights: corpus.counts.map { pow(Double($0), 0.75) })

// 5. The model: two embeddings. Input vectors start uniform in ±0.5/dim, output vectors
//    at zero (word2vec's initialisation).
var rng = Random(seed: seed)
let inputTable = Embedding<Float>(
    weight: Parameter(.uniform([vocabulary, dimension], in: Float(-0.5 / Double(dimension))...Float(0.5 / Double(dimension)), using: &rng)))
let outputTable = Embedding<Float>(weight: Parameter(.zeros([vocabulary, dimension])))

// 6. Training. The stream is cut into sentences of --sentence tokens; each thread takes its
//    own contiguous share of sentences (Hogwild: the threads update the shared tables
//    without locks, as gensim's workers do; two threads rarely touch the same row at the
//    same moment). In each sentence: drop subsampled words, then for every position i draw
//    a window b in 1…--window and, for every j within b of i, make one example: input word
//    tokens[j], positive tokens[i], --negative draws from the noise. A sentence's examples
//    go to `Float.skipGramNegativeSampling` in one call: for each example, the gradient of
//    SkipGramLoss and an SGD step on the k + 2 rows it used (the sparse update; see §8 for
//    the same step with the verbs). The learning rate falls linearly with the progress.
struct Settings: Sendable {
    let dimension, window, negatives, epochs, sentenceLength, threads: Int
    let learningRate, finalRate: Double
    let seed: UInt64
}
let settings = Settings(
    dimension: dimension, window: window, negatives: negatives, epochs: epochs, sentenceLength: sentenceLength,
    threads: threads, learningRate: learningRate, finalRate: finalRate, seed: seed)

/// Trains one epoch over `tokens`; returns the summed loss and the number of examples.
func trainEpoch(
    _ epoch: Int, tokens: [Int32], keep: [UInt64], noise: AliasTable, settings s: Settings,
    input: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>
) -> (loss: Double, examples: Int) {
    let sentences = (tokens.count + s.sentenceLength - 1) / s.sentenceLength
    let parts = min(s.threads, sentences)
    let results = UnsafeMutableBufferPointer<(Double, Int)>.allocate(capacity: parts)
    defer { results.deallocate() }
    Threads.parallelFor(parts, minimumWork: 0) { range in
        for part in range {
            var rng = Random(seed: s.seed &+ UInt64(1000 * (epoch + 1) + part))
            let first = part * sentences / parts, last = (part + 1) * sentences / parts
            let (n, w, k) = (s.sentenceLength, s.window, s.negatives)
            var kept = [Int32](), inputs = [Int32](), positives = [Int32](), drawn = [Int32]()
            kept.reserveCapacity(n); inputs.reserveCapacity(2 * w * n); positives.reserveCapacity(2 * w * n);
            drawn.reserveCapacity(2 * w * n * k)
            var work = [Float](repeating: 0, count: s.dimension)
            var loss = 0.0, examples = 0
            for sentence in first..<last {
                let progress = (Double(epoch) + Double(sentence - first) / Double(last - first)) / Double(s.epochs)
                let lr = Float(s.learningRate - (s.learningRate - s.finalRate) * progress)
                kept.removeAll(keepingCapacity: true)
                for t in tokens[(sentence * n)..<min(tokens.count, (sentence + 1) * n)] where (rng.next() & 0xFFFF_FFFF) < keep[Int(t)] {
                    kept.append(t)
                }
                inputs.removeAll(keepingCapacity: true); positives.removeAll(keepingCapacity: true); drawn.removeAll(keepingCapacity: true)
                for i in kept.indices {
                    let b = w - Int(rng.next() % UInt64(w)) // 1…w
                    for j in max(0, i - b)..<min(kept.count, i + b + 1) where j != i {
                        inputs.append(kept[j])
                        positives.append(kept[i])
                        for _ in 0..<k { drawn.append(Int32(truncatingIfNeeded: noise.sample(using: &rng))) }
                    }
                }
                loss += Float.skipGramNegativeSampling(
                    input: input, output: output, dimension: s.dimension, inputs: inputs,
                    positives: positives, negatives: drawn, count: inputs.count,
                    negativesPerExample: k, learningRate: lr, work: &work)
                examples += inputs.count
            }
            results[part] = (loss, examples)
        }
    }
    return results.reduce((0, 0)) { ($0.0 + $1.0, $0.1 + $1.1) }
}

print(
    "training: \(epochs) epochs, dimension \(dimension), window \(window), \(negatives) negatives, sample \(sample), "
        + "lr \(learningRate) → \(finalRate), \(threads) thread\(threads == 1 ? "" : "s")")
let start = Date()
let tokens = corpus.tokens
inputTable.weight.value.withUnsafeMutablePointer { input in
    outputTable.weight.value.withUnsafeMutablePointer { output in
        for epoch in 0..<epochs {
            let epochStart = Date()
            let (loss, examples) = trainEpoch(
                epoch, tokens: tokens, keep: keep, noise: noise, settings: settings, input: input, output: output)
            let seconds = Date().timeIntervalSince(epochStart)
            print(
                String(
                    format: "epoch %d: loss %.4f per example (%d examples), %.1f s, %.0f words/s",
                    epoch + 1, loss / Double(max(examples, 1)), examples, seconds, Double(tokens.count) / seconds))
            fflush(nil)
        }
    }
}
let seconds = Date().timeIntervalSince(start)
print(
    String(
        format: "trained in %.2f s: %.0f words/s (%d tokens × %d epochs, %d thread%@)",
        seconds, Double(tokens.count * epochs) / seconds, tokens.count, epochs, threads, threads == 1 ? "" : "s"))

// 7. Nearest neighbours by cosine similarity of the input vectors.
let vectors = inputTable.weight.value // [V, D]
var unit = vectors.scalars
for w in 0..<vocabulary {
    var norm: Float = 0
    for j in 0..<dimension { norm += unit[w * dimension + j] * unit[w * dimension + j] }
    let scale = norm > 0 ? 1 / norm.squareRoot() : 0
    for j in 0..<dimension { unit[w * dimension + j] *= scale }
}
@MainActor func neighbours(_ w: Int, _ count: Int) -> [(word: String, cosine: Float)] {
    let row = (0..<vocabulary).map { other -> Float in
        var s: Float = 0
        for j in 0..<dimension { s += unit[w * dimension + j] * unit[other * dimension + j] }
        return s
    }
    return row.indices.filter { $0 != w }.sorted { row[$0] > row[$1] }.prefix(count).map { (corpus.words[$0], row[$0]) }
}
for word in queryOption.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) where !word.isEmpty {
    guard let w = corpus.index(of: word) else { print("  \(word): not in the vocabulary"); continue }
    print(
        "  \(word) (\(corpus.counts[w])×): "
            + neighbours(w, 8).map { String(format: "%@ %.2f", $0.word, $0.cosine) }.joined(separator: ", "))
}

// 8. The same step with the verbs. One example (a word, a neighbour, distinct negatives)
//    on copies of the tables: fprop looks the vectors up, SkipGramLoss gives the loss and
//    its gradient, and `sparseUpdate` applies SGD to the rows used. The fused kernel of §6
//    must give the same tables.
do {
    let (center, context) = (Int(tokens[1]), Int(tokens[0]))
    var drawn: [Int] = []
    var draws = Random(seed: seed &+ 7)
    while drawn.count < negatives && drawn.count < vocabulary - 1 {
        let n = noise.sample(using: &draws)
        if n != center && !drawn.contains(n) { drawn.append(n) }
    }
    let k = drawn.count
    let a = Embedding<Float>(weight: Parameter(inputTable.weight.value)), b = Embedding<Float>(weight: Parameter(outputTable.weight.value))
    let u = a.fprop(Tensor(shape: [1], scalars: [Float(context)])) // [1, D]
    let targets = [center] + drawn
    let v = b.fprop(Tensor(shape: [1, k + 1], scalars: targets.map(Float.init))) // [1, 1 + K, D]
    let criterion = SkipGramLoss<Float>()
    let x = SkipGramLoss<Float>.stack(u, v), mask = [Bool](repeating: true, count: k)
    let loss = criterion.forward(x, mask)
    let (gu, gv) = SkipGramLoss<Float>.unstack(criterion.backward(x, mask))
    a.sparseUpdate(indices: [context], gradOutput: gu, learningRate: 0.025)
    b.sparseUpdate(indices: targets, gradOutput: gv.reshaped([k + 1, dimension]), learningRate: 0.025)
    let c = Embedding<Float>(weight: Parameter(inputTable.weight.value)), d = Embedding<Float>(weight: Parameter(outputTable.weight.value))
    let fused = SkipGram.train(
        input: c, output: d, inputs: [Int32(context)], positives: [Int32(center)],
        negatives: drawn.map(Int32.init), learningRate: 0.025)
    let diff = max(
        zip(a.weight.value.scalars, c.weight.value.scalars).map { abs($0 - $1) }.max() ?? 0,
        zip(b.weight.value.scalars, d.weight.value.scalars).map { abs($0 - $1) }.max() ?? 0)
    print(
        String(
            format:
                "one step with the verbs (\"%@\" near \"%@\", %d negatives): loss %.5f, fused kernel %.5f; tables differ by at most %.2g",
            corpus.words[context], corpus.words[center], k, Double(loss), fused, Double(diff)))
}

// 9. Saving: the tables as safetensors (the vocabulary in the metadata, one word a line),
//    and the input vectors in word2vec's text format ("V D", then "word x₁ … x_D" per
//    line), which gensim's KeyedVectors.load_word2vec_format reads.
var file = SafeTensors(metadata: ["format": "word2vec", "vocabulary": corpus.words.joined(separator: "\n")])
file.add("input", inputTable.weight.value)
file.add("output", outputTable.weight.value)
file.add("counts", int64: corpus.counts.map(Int64.init), shape: [vocabulary])
if let path = figurePath(outDir, "word2vec.safetensors") {
    do { try file.write(to: path); print("wrote \(path)") } catch { RunProblems.report("\(path): \(error)") }
}
if let path = figurePath(outDir, "word2vec.txt") {
    var text = "\(vocabulary) \(dimension)\n"
    for w in 0..<vocabulary {
        text += corpus.words[w]
        for j in 0..<dimension { text += " " + String(vectors.scalars[w * dimension + j]) }
        text += "\n"
    }
    do { try AtomicFile.write(Array(text.utf8), to: path); print("wrote \(path)") } catch { RunProblems.report("\(path): \(error)") }
}

// 10. A picture: the input vectors of the most frequent words projected on their first two
//     principal components, each point labelled with its word.
let shown = min(plotCount, vocabulary)
if shown >= 2, let path = figurePath(outDir, "word2vec-pca.svg") {
    let top = Tensor(shape: [shown, dimension], scalars: Array(vectors.scalars[0..<(shown * dimension)]))
    let codes = PCA(top, components: 2).encode(top) // [shown, 2]
    var plot = ScatterPlot(
        title: "word2vec: the \(shown) most frequent words, first two principal components",
        xLabel: "PC 1", yLabel: "PC 2", width: 1000, height: 800)
    plot.add(
        group: "words", points: (0..<shown).map { (Double(codes.scalars[2 * $0]), Double(codes.scalars[2 * $0 + 1])) },
        labels: Array(corpus.words.prefix(shown)))
    plot.equalScales = true
    plot.markerSize = 2
    do { try plot.write(to: path); print("wrote \(path)") } catch { RunProblems.report("\(path): \(error)") }
}
finishRun()
