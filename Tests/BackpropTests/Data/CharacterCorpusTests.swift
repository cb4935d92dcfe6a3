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
        XCTAssertEqual(
            try corpus.encode("not"),
            [
                corpus.vocabulary.firstIndex(of: "n")!, corpus.vocabulary.firstIndex(of: "o")!,
                corpus.vocabulary.firstIndex(of: "t")!
            ])
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
            XCTAssertEqual(error as? DataError, DataError(.missingFile, file: missing, "no such file"))
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
        // from an offset: the streams start there
        let shifted = corpus.streamBatches(from: .train, length: length, batchSize: n, offset: 4) as StreamBatches<Double>
        let first = shifted.makeIterator().next()!.inputs
        let shiftedLength = (corpus.train.count - 5) / n
        XCTAssertEqual((0..<n).map { Int(first[0, $0]) }, (0..<n).map { corpus.train[4 + $0 * shiftedLength] })
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

/// Texts and sizes that do not fit: each throws a `DataError` naming the text's length and
/// what the windows need, or the file's real problem.
final class CharacterCorpusErrorTests: XCTestCase {
    func problem(_ body: () throws -> Void) -> String {
        do { try body(); return "no error" } catch { return "\(error)" }
    }

    func testTextTooShortForCharLSTMDefaultsThrowsNamingBothSizes() throws {
        // 3,000 characters, char-lstm's --seq 100 --batch 32: 2,700 for training
        let text = String((0..<3000).map { _ in "abcdefgh".randomElement()! })
        let corpus = try CharacterCorpus(text: text, validationFraction: 0.1, source: "short.txt")
        XCTAssertEqual(
            problem { try corpus.checkStreamBatches(from: .train, length: 100, batchSize: 32) },
            "short.txt: the train split has 2700 characters; 32 streams of windows of 100 characters from offset 0 need at least 3201 (32 × 100 + 1)"
        )
        XCTAssertEqual(
            problem { try corpus.checkStreamBatches(from: .train, length: 100, batchSize: 32, offset: 5) },
            "short.txt: the train split has 2700 characters; 32 streams of windows of 100 characters from offset 5 need at least 3206 (32 × 100 + 1 + 5)"
        )
        XCTAssertEqual(
            problem { try corpus.checkStreamBatches(from: .train, length: 100, batchSize: 26) }, "no error", "26 × 100 + 1 ≤ 2700")
        XCTAssertThrowsError(try corpus.checkStreamBatches(from: .train, length: 100, batchSize: 32)) {
            XCTAssertEqual(($0 as? DataError)?.kind, .tooShort)
        }
        XCTAssertEqual(
            problem { try corpus.checkStreamBatches(from: .train, length: 100, batchSize: 27) }.prefix(40),
            "short.txt: the train split has 2700 char")
        XCTAssertEqual(
            problem { try corpus.checkRandomBatches(from: .validation, length: 300, batchSize: 32) },
            "short.txt: the validation split has 300 characters; a window of 300 characters and its next-character targets need at least 301"
        )
        XCTAssertEqual(problem { try corpus.checkRandomBatches(from: .validation, length: 299, batchSize: 32) }, "no error")
    }

    func testAbsurdSizesDoNotOverflow() throws {
        let corpus = try CharacterCorpus(text: "hello world", validationFraction: 0, source: "t")
        XCTAssertEqual(
            problem { try corpus.checkStreamBatches(from: .train, length: .max, batchSize: 2) },
            "t: the train split has 11 characters; 2 streams of windows of \(Int.max) characters from offset 0 need more than \(Int.max) (2 × \(Int.max) + 1)"
        )
        XCTAssertEqual(
            problem { try corpus.checkRandomBatches(length: .max, batchSize: 1) },
            "t: the train split has 11 characters; a window of \(Int.max) characters and its next-character targets need more")
        XCTAssertEqual(
            problem { try corpus.checkStreamBatches(from: .train, length: 0, batchSize: 1) },
            "t: the window length and batch size must be positive, got length 0, batch size 1")
        XCTAssertEqual(
            problem { try corpus.checkRandomBatches(length: 1, batchSize: -4) },
            "t: the window length and batch size must be positive, got length 1, batch size -4")
        XCTAssertEqual(
            problem { try corpus.checkStreamBatches(from: .train, length: 1, batchSize: 1, offset: 11) },
            "t: offset 11 is outside the train split (11 characters)")
        XCTAssertEqual(
            problem { try corpus.checkStreamBatches(from: .validation, length: 1, batchSize: 1) },
            "t: offset 0 is outside the validation split (0 characters)")
    }

    func testFilesThatAreNotTextOrNotRegular() throws {
        let directory = NSTemporaryDirectory() + "corpus-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let fifo = directory + "/fifo.txt"
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        XCTAssertEqual(problem { _ = try CharacterCorpus(contentsOf: fifo) }, "\(fifo): is a FIFO (named pipe), not a regular file")
        XCTAssertEqual(problem { _ = try CharacterCorpus(contentsOf: "/dev/zero") }, "/dev/zero: is a character device, not a regular file")
        let latin1 = directory + "/latin1.txt"
        try Data("caf".utf8 + [0xE9] + " au lait".utf8).write(to: URL(fileURLWithPath: latin1))
        XCTAssertEqual(
            problem { _ = try CharacterCorpus(contentsOf: latin1) },
            "\(latin1): is not valid UTF-8 text: the byte at offset 3 (of 12) does not decode")
        let multibyte = directory + "/multibyte.txt"
        try Data("é✓".utf8 + [0x80]).write(to: URL(fileURLWithPath: multibyte))
        XCTAssertEqual(
            problem { _ = try CharacterCorpus(contentsOf: multibyte) },
            "\(multibyte): is not valid UTF-8 text: the byte at offset 5 (of 6) does not decode")
        XCTAssertEqual(problem { _ = try CharacterCorpus(text: "", source: "empty") }, "empty: is empty: a corpus needs some text")
    }
}
