import Backprop
import Foundation
import XCTest

/// The character corpus (vocabulary, encoding, split, batches, errors) and sampling from a softmax.
final class CharacterCorpusTests: XCTestCase {
    let text = "to be, or not to be: that is the question.\nwhether 'tis nobler in the mind to suffer\n"

    func temporaryFile(_ contents: Data) throws -> String {
        let path = NSTemporaryDirectory() + "corpus-\(UUID().uuidString).txt"
        try contents.write(to: URL(fileURLWithPath: path))
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func testVocabularyEncodingAndSplit() throws {
        let path = try temporaryFile(text.data(using: .utf8)!)
        let corpus = try CharacterCorpus(contentsOf: path, validationFraction: 0.25)
        XCTAssertEqual(corpus.vocabulary, Array(Set(text.unicodeScalars)).sorted(), "distinct characters, sorted")
        XCTAssertEqual(corpus.vocabulary.first, "\n")
        let all = text.unicodeScalars.count
        XCTAssertEqual(corpus.validation.count, Int((Double(all) * 0.25).rounded()))
        XCTAssertEqual(corpus.train.count + corpus.validation.count, all)
        XCTAssertEqual(corpus.decode(corpus.train + corpus.validation), text, "the split is the text, in order")
        XCTAssertEqual(try corpus.encode("not"), [corpus.vocabulary.firstIndex(of: "n")!, corpus.vocabulary.firstIndex(of: "o")!,
                                                  corpus.vocabulary.firstIndex(of: "t")!])
        XCTAssertThrowsError(try corpus.encode("Q")) { XCTAssertTrue("\($0)".contains("not in the corpus's vocabulary"), "\($0)") }
    }

    func testNonASCIICharactersAreSingleEntries() throws {
        let corpus = try CharacterCorpus(text: "café – naïve ✓ café", validationFraction: 0)
        XCTAssertTrue(corpus.vocabulary.contains("é") && corpus.vocabulary.contains("✓"))
        XCTAssertEqual(corpus.decode(try corpus.encode("naïve ✓")), "naïve ✓")
        XCTAssertTrue(corpus.validation.isEmpty)
    }

    func testMissingEmptyAndInvalidFilesThrowDataError() throws {
        let missing = NSTemporaryDirectory() + "no-such-corpus-\(UUID().uuidString).txt"
        XCTAssertThrowsError(try CharacterCorpus(contentsOf: missing)) { error in
            XCTAssertEqual(error as? DataError, DataError(file: missing, "no such file"))
        }
        let empty = try temporaryFile(Data())
        XCTAssertThrowsError(try CharacterCorpus(contentsOf: empty)) { error in
            XCTAssertTrue((error as? DataError)?.problem.contains("empty") == true, "\(error)")
        }
        let notUTF8 = try temporaryFile(Data([0x66, 0xFF, 0xFE, 0x67]))
        XCTAssertThrowsError(try CharacterCorpus(contentsOf: notUTF8)) { error in
            XCTAssertTrue((error as? DataError)?.problem.contains("UTF-8") == true, "\(error)")
        }
        XCTAssertThrowsError(try CharacterCorpus(contentsOf: NSTemporaryDirectory())) { error in
            XCTAssertTrue((error as? DataError)?.problem.contains("directory") == true, "\(error)")
        }
        XCTAssertThrowsError(try CharacterCorpus(text: "ab", validationFraction: 0.5), "too short to split")
    }

    func testRandomBatchesAreShiftedWindowsAndReproducible() throws {
        let corpus = try CharacterCorpus(text: text, validationFraction: 0.2)
        var rng = Random(seed: 5), again = Random(seed: 5)
        let (length, n) = (7, 4)
        let (x, y): (Tensor<Float>, [Int]) = corpus.randomBatch(length: length, batchSize: n, using: &rng)
        let (x2, y2): (Tensor<Float>, [Int]) = corpus.randomBatch(length: length, batchSize: n, using: &again)
        XCTAssertEqual(x, x2)
        XCTAssertEqual(y, y2)
        XCTAssertEqual(x.shape, [length, n], "time-major")
        XCTAssertEqual(y.count, length * n)
        let train = corpus.decode(corpus.train)
        for k in 0..<n {
            let window = (0..<length).map { Int(x[$0, k]) }
            let next = (0..<length).map { y[$0 * n + k] }
            XCTAssertEqual(Array(window.dropFirst()), Array(next.dropLast()), "targets are the inputs shifted by one")
            XCTAssertTrue(train.contains(corpus.decode(window + [next.last!])), "a window of the training text")
        }
        let (v, _): (Tensor<Float>, [Int]) = corpus.randomBatch(from: .validation, length: 3, batchSize: 2, using: &rng)
        XCTAssertTrue(corpus.decode(corpus.validation).contains(corpus.decode((0..<3).map { Int(v[$0, 0]) })))
    }

    func testStreamBatchesCoverTheSplitInOrder() throws {
        let corpus = try CharacterCorpus(text: text, validationFraction: 0)
        let (length, n) = (5, 3)
        let batches = corpus.streamBatches(from: .train, length: length, batchSize: n) as StreamBatches<Double>
        let streamLength = (corpus.train.count - 1) / n
        var streams = [[Int]](repeating: [], count: n), targets = streams
        for (x, y) in batches {
            let t = x.shape[0]
            XCTAssertEqual(x.shape, [t, n])
            for k in 0..<n {
                streams[k] += (0..<t).map { Int(x[$0, k]) }
                targets[k] += (0..<t).map { y[$0 * n + k] }
            }
        }
        XCTAssertEqual(batches.count, (streamLength + length - 1) / length)
        for k in 0..<n {
            XCTAssertEqual(streams[k], Array(corpus.train[(k * streamLength)..<((k + 1) * streamLength)]), "stream \(k) is contiguous")
            XCTAssertEqual(targets[k], Array(corpus.train[(k * streamLength + 1)...((k + 1) * streamLength)]))
        }
    }

    // MARK: sampling

    func testSamplingFollowsTheSoftmaxWithTemperature() {
        let logits = Tensor<Double>([1.0, 2.0, 0.0, 3.0])
        var rng = Random(seed: 11)
        XCTAssertEqual(sampleFromLogits(logits, temperature: 0, using: &rng), [3], "temperature 0 is the argmax")
        for temperature in [1.0, 0.5, 2.0] {
            let weights = logits.scalars.map { exp($0 / temperature) }
            let expected = weights.map { $0 / weights.reduce(0, +) }
            var counts = [0, 0, 0, 0]
            let draws = 20_000
            for _ in 0..<draws { counts[sampleFromLogits(logits, temperature: temperature, using: &rng)[0]] += 1 }
            for k in 0..<4 {
                XCTAssertEqual(Double(counts[k]) / Double(draws), expected[k], accuracy: 0.015, "class \(k) at temperature \(temperature)")
            }
        }
        // one draw per row
        let rows = Tensor<Float>(shape: [2, 3], scalars: [0, 50, 0, 40, 0, 0])
        XCTAssertEqual(sampleFromLogits(rows, temperature: 1, using: &rng), [1, 0])
        // huge logits do not overflow
        XCTAssertEqual(sampleFromLogits(Tensor<Float>([1e30, -1e30]), temperature: 1, using: &rng), [0])
    }
}
