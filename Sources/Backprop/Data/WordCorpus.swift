// Word-level text corpora: a tokenizer, a vocabulary with counts, and the encoded token
// stream (for word embeddings such as word2vec).
import Foundation

/// A text as a stream of word indices, with the vocabulary's counts, as word2vec reads it.
///
/// Tokenization: the text is lowercased, then a token is a maximal run of letters (Unicode
/// alphabetic scalars) and apostrophes that contains at least one letter; everything else
/// separates tokens ("Ne'er-do-well, KING!" → ne'er, do, well, king). Words that occur
/// fewer than `minCount` times are dropped from the vocabulary and from the stream (as
/// gensim does before it forms windows). The vocabulary is sorted by descending count,
/// ties in order of first occurrence (gensim's order), so index 0 is the most frequent word.
///
/// ```swift
/// let corpus = WordCorpus(text: "the cat and the hat", minCount: 1)
/// corpus.words                        // ["the", "cat", "and", "hat"]
/// corpus.counts                       // [2, 1, 1, 1]
/// corpus.tokens                       // [0, 1, 2, 0, 3]
/// ```
public struct WordCorpus: Sendable {
    /// The vocabulary, most frequent first.
    public let words: [String]
    /// How often each word of `words` occurs in the text.
    public let counts: [Int]
    /// The text's tokens that are in the vocabulary, as indices into `words`, in order.
    public let tokens: [Int32]
    /// The number of tokens in the text, including those of words below the minimum count.
    public let rawTokenCount: Int
    /// The smallest count a word needs to be in the vocabulary.
    public let minCount: Int
    /// Where the text came from (a path), for messages.
    public let source: String
    private let indexOf: [String: Int]

    /// The tokens of `text`, by the rule above.
    public static func tokenize(_ text: String) -> [String] {
        var result: [String] = []
        var current = String.UnicodeScalarView()
        var hasLetter = false
        func flush() {
            if hasLetter { result.append(String(current)) }
            current = String.UnicodeScalarView()
            hasLetter = false
        }
        for scalar in text.lowercased().unicodeScalars {
            if scalar.properties.isAlphabetic {
                current.append(scalar)
                hasLetter = true
            } else if scalar == "'" {
                current.append(scalar)
            } else if !current.isEmpty {
                flush()
            }
        }
        flush()
        return result
    }

    /// The corpus of `text`, keeping words that occur at least `minCount` (≥ 1) times.
    public init(text: String, minCount: Int = 5, source: String = "<text>") {
        require(minCount >= 1, "WordCorpus: minCount must be at least 1, got \(minCount)")
        let all = WordCorpus.tokenize(text)
        var counts: [String: Int] = [:], firstSeen: [String] = []
        for token in all {
            if let c = counts[token] { counts[token] = c + 1 } else { counts[token] = 1; firstSeen.append(token) }
        }
        let order = firstSeen.enumerated()
            .filter { counts[$0.element]! >= minCount }
            .sorted { a, b in
                let (ca, cb) = (counts[a.element]!, counts[b.element]!)
                return ca != cb ? ca > cb : a.offset < b.offset
            }
        words = order.map(\.element)
        self.counts = words.map { counts[$0]! }
        var index: [String: Int] = [:]
        for (i, w) in words.enumerated() { index[w] = i }
        indexOf = index
        tokens = all.compactMap { index[$0].map(Int32.init) }
        rawTokenCount = all.count
        self.minCount = minCount
        self.source = source
    }

    /// Reads a UTF-8 text file. Throws a `DataError` naming the file if it is missing, not a
    /// regular file, unreadable, not UTF-8, or has no word that occurs `minCount` times.
    public init(contentsOf path: String, minCount: Int = 5) throws {
        if let problem = regularFileProblem(path) {
            throw DataError(problem == "no such file" ? .missingFile : .notRegularFile, file: path, problem)
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw DataError(.unreadable, file: path, "cannot be read") }
        guard let text = String(data: data, encoding: .utf8) else {
            throw DataError(
                .notUTF8, file: path,
                "is not valid UTF-8 text: the byte at offset \(CharacterCorpus.firstInvalidUTF8(data)) (of \(data.count)) does not decode")
        }
        self.init(text: text, minCount: minCount, source: path)
        guard !words.isEmpty else {
            throw DataError(
                .tooShort, file: path,
                "has no word that occurs at least \(minCount) times (\(rawTokenCount) tokens): give a longer text or a lower minimum count")
        }
    }

    /// The number of words in the vocabulary.
    public var vocabularySize: Int { words.count }

    /// The index of `word` (lowercase), or nil if it is not in the vocabulary.
    public func index(of word: String) -> Int? { indexOf[word] }
}
