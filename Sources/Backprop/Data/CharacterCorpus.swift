// Character-level text corpora: a vocabulary, the encoded text split for training and
// validation, and batches of windows for recurrent language models.
import Foundation

/// A UTF-8 text as a sequence of character indices, for character-level language models
/// (Karpathy's char-rnn and its descendants).
///
/// The vocabulary is the set of distinct characters (Unicode scalars) of the whole text,
/// sorted, so index k is the k-th smallest code point. The text is split once: the first
/// `1 − validationFraction` of it for training, the rest for validation.
///
/// ```swift
/// let corpus = try CharacterCorpus(contentsOf: "input.txt")          // 65 characters for tinyshakespeare
/// var rng = Random(seed: 1)
/// let (x, y): (Tensor<Float>, [Int]) = corpus.randomBatch(length: 100, batchSize: 32, using: &rng)
/// // x [100, 32] indices for an Embedding; y the next character of each, in the same order
/// ```
public struct CharacterCorpus {
    /// Which part of the text.
    public enum Split: Sendable { case train, validation }

    /// The distinct characters, sorted; a character's index is its position here.
    public let vocabulary: [Unicode.Scalar]
    /// The training part of the text, encoded.
    public let train: [Int]
    /// The validation part of the text, encoded (may be empty if the fraction is 0).
    public let validation: [Int]
    /// Where the text came from (a path), for messages.
    public let source: String
    private let indexOf: [Unicode.Scalar: Int]

    /// Number of distinct characters.
    public var vocabularySize: Int { vocabulary.count }

    /// Reads a UTF-8 text file. Bytes that are not UTF-8 are rejected, not replaced (a
    /// Latin-1 or binary file would otherwise train on U+FFFD): the error gives the offset
    /// of the first bad byte. Throws a `DataError` naming the file if it is missing, not a
    /// regular file (a directory, a FIFO, a device), unreadable, empty, not UTF-8, or too
    /// short to split.
    public init(contentsOf path: String, validationFraction: Double = 0.1) throws {
        if let problem = regularFileProblem(path) {
            throw DataError(problem == "no such file" ? .missingFile : .notRegularFile, file: path, problem)
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw DataError(.unreadable, file: path, "cannot be read") }
        guard !data.isEmpty else { throw DataError(.empty, file: path, "is empty: a corpus needs some text") }
        guard let text = String(data: data, encoding: .utf8) else {
            throw DataError(
                .notUTF8, file: path,
                "is not valid UTF-8 text: the byte at offset \(CharacterCorpus.firstInvalidUTF8(data)) (of \(data.count)) does not decode")
        }
        try self.init(text: text, validationFraction: validationFraction, source: path)
    }

    /// The offset of the first byte of `data` that does not decode as UTF-8 (`data.count` if all do).
    static func firstInvalidUTF8(_ data: Data) -> Int {
        var iterator = data.makeIterator()
        var decoder = UTF8()
        var offset = 0
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): offset += UTF8.width(scalar)
            case .emptyInput, .error: return offset
            }
        }
    }

    /// A corpus from a string; `source` names it in errors.
    public init(text: String, validationFraction: Double = 0.1, source: String = "<text>") throws {
        guard validationFraction >= 0 && validationFraction < 1 else {
            throw DataError(.invalidArgument, file: source, "the validation fraction must be in [0, 1), got \(validationFraction)")
        }
        let characters = Array(text.unicodeScalars)
        guard !characters.isEmpty else { throw DataError(.empty, file: source, "is empty: a corpus needs some text") }
        let vocabulary = Set(characters).sorted()
        let indexOf = Dictionary(uniqueKeysWithValues: vocabulary.enumerated().map { ($1, $0) })
        let encoded = characters.map { indexOf[$0]! }
        let validationCount = Int((Double(encoded.count) * validationFraction).rounded())
        let trainCount = encoded.count - validationCount
        guard trainCount >= 2 && (validationFraction == 0 || validationCount >= 2) else {
            throw DataError(
                .tooShort, file: source,
                "is too short: \(encoded.count) characters cannot be split into training and validation parts of at least 2 each")
        }
        self.vocabulary = vocabulary
        self.indexOf = indexOf
        self.source = source
        train = Array(encoded[..<trainCount])
        validation = Array(encoded[trainCount...])
    }

    /// The encoded characters of a split.
    public subscript(split: Split) -> [Int] { split == .train ? train : validation }

    /// The indices of `text`'s characters; throws a `DataError` for a character that is not
    /// in the vocabulary.
    public func encode(_ text: String) throws -> [Int] {
        try text.unicodeScalars.map { c in
            guard let k = indexOf[c] else {
                throw DataError(
                    .unknownCharacter, file: source,
                    "character \(c.debugDescription) (U+\(String(c.value, radix: 16, uppercase: true))) is not in the corpus's vocabulary")
            }
            return k
        }
    }

    /// The text of a sequence of indices.
    public func decode(_ indices: [Int]) -> String {
        var scalars = String.UnicodeScalarView()
        for k in indices {
            require(k >= 0 && k < vocabularySize, "decode: index \(k) is outside the vocabulary 0..<\(vocabularySize)")
            scalars.append(vocabulary[k])
        }
        return String(scalars)
    }

    /// `batchSize` windows of `length + 1` consecutive characters at random places of
    /// `split`: inputs `[length, batchSize]` (time-major, indices as scalars for an
    /// `Embedding`) and targets, the character following each input position, flattened
    /// in the same order (`length · batchSize` of them, to match an output `[T, N, V]`).
    /// The sizes must pass `checkRandomBatches` (else the program stops with its message).
    public func randomBatch<Scalar: TensorScalar>(
        from split: Split = .train, length: Int, batchSize: Int,
        using rng: inout Random
    ) -> (inputs: Tensor<Scalar>, targets: [Int]) {
        do { try checkRandomBatches(from: split, length: length, batchSize: batchSize) } catch { requireFailure("randomBatch: \(error)") }
        let text = self[split]
        let starts = (0..<batchSize).map { _ in Int(rng.next() % UInt64(text.count - length)) }
        return CharacterCorpus.batch(text, starts: starts, length: length)
    }

    /// Throws a `DataError` naming the split, its length and what the windows need if
    /// `randomBatch(from:length:batchSize:using:)` cannot draw them (which then stops the
    /// program): `length` and `batchSize` must be positive and the split must hold at
    /// least `length + 1` characters.
    public func checkRandomBatches(from split: Split = .train, length: Int, batchSize: Int) throws {
        guard length >= 1 && batchSize >= 1 else {
            throw DataError(
                .invalidArgument, file: source,
                "the window length and batch size must be positive, got length \(length), batch size \(batchSize)")
        }
        let count = self[split].count
        guard length < count else {
            throw DataError(
                .tooShort, file: source,
                "the \(split) split has \(count) characters; a window of \(length) characters and its next-character targets need \(length == .max ? "more" : "at least \(length + 1)")"
            )
        }
    }

    /// The whole of `split` as consecutive batches of `batchSize` parallel streams: the
    /// split (from character `offset` on) is cut into `batchSize` contiguous stretches, and
    /// batch k holds the k-th window of `length` characters of each. A stateful recurrent
    /// layer thus carries its state from one batch to the next (truncated backpropagation
    /// through time); resetting the state at every batch evaluates non-overlapping windows
    /// from a zero state instead. A different `offset` each epoch moves the windows'
    /// boundaries, so that the epochs do not repeat the same windows. The sizes must pass
    /// `checkStreamBatches` (else the program stops with its message).
    public func streamBatches<Scalar: TensorScalar>(
        from split: Split, length: Int, batchSize: Int,
        offset: Int = 0
    ) -> StreamBatches<Scalar> {
        do { try checkStreamBatches(from: split, length: length, batchSize: batchSize, offset: offset) } catch {
            requireFailure("streamBatches: \(error)")
        }
        let text = self[split]
        let streamLength = (text.count - offset - 1) / batchSize
        return StreamBatches(text: text, start: offset, streamLength: streamLength, length: length, batchSize: batchSize)
    }

    /// Throws a `DataError` naming the split, its length and what the streams need if
    /// `streamBatches(from:length:batchSize:offset:)` cannot cut them: `length` and
    /// `batchSize` must be positive, `offset` inside the split, and the split must hold at
    /// least `offset + batchSize × length + 1` characters (each stream one full window,
    /// plus the last target).
    public func checkStreamBatches(from split: Split, length: Int, batchSize: Int, offset: Int = 0) throws {
        guard length >= 1 && batchSize >= 1 else {
            throw DataError(
                .invalidArgument, file: source,
                "the window length and batch size must be positive, got length \(length), batch size \(batchSize)")
        }
        let count = self[split].count
        guard offset >= 0 && offset < count else {
            throw DataError(.invalidArgument, file: source, "offset \(offset) is outside the \(split) split (\(count) characters)")
        }
        let (windows, overflow) = batchSize.multipliedReportingOverflow(by: length)
        guard !overflow && windows < count - offset else {
            let need = overflow || windows > Int.max - offset - 1 ? "more than \(Int.max)" : "at least \(offset + windows + 1)"
            throw DataError(
                .tooShort, file: source,
                "the \(split) split has \(count) characters; \(batchSize) streams of windows of \(length) characters from offset \(offset) need \(need) (\(batchSize) × \(length) + 1\(offset > 0 ? " + \(offset)" : ""))"
            )
        }
    }

    /// inputs [length, N] and time-major targets for windows starting at `starts`.
    static func batch<Scalar: TensorScalar>(_ text: [Int], starts: [Int], length: Int) -> (inputs: Tensor<Scalar>, targets: [Int]) {
        let n = starts.count
        var inputs = [Int](repeating: 0, count: length * n), targets = inputs
        for (k, start) in starts.enumerated() {
            for t in 0..<length {
                inputs[t * n + k] = text[start + t]
                targets[t * n + k] = text[start + t + 1]
            }
        }
        let tensor = inputs.withUnsafeBufferPointer { src in
            Tensor<Scalar>(shape: [length, n]) { Scalar.convertIndices(src.baseAddress!, $0, length * n) }
        }
        return (tensor, targets)
    }
}

/// The batches of `CharacterCorpus.streamBatches`: `(inputs [length, N], targets)`, in order.
public struct StreamBatches<Scalar: TensorScalar>: Sequence {
    let text: [Int]
    let start: Int
    let streamLength: Int
    let length: Int
    let batchSize: Int

    /// Number of batches (the last window of each stream may be shorter than `length`).
    public var count: Int { (streamLength + length - 1) / length }
    /// Number of characters predicted over all batches.
    public var characterCount: Int { streamLength * batchSize }

    public func makeIterator() -> AnyIterator<(inputs: Tensor<Scalar>, targets: [Int])> {
        var offset = 0
        return AnyIterator {
            guard offset < streamLength else { return nil }
            let window = Swift.min(length, streamLength - offset)
            let starts = (0..<batchSize).map { start + $0 * streamLength + offset }
            offset += window
            return CharacterCorpus.batch(text, starts: starts, length: window)
        }
    }
}
