// Tests of WordCorpus: the tokenization rule, the vocabulary's order and counts, the
// minimum count, and file errors.
import Backprop
import Foundation
import XCTest

final class WordCorpusTests: XCTestCase {
    func testTokenization() {
        XCTAssertEqual(
            WordCorpus.tokenize("Ne'er-do-well, KING!  'Tis 3 o'clock... ' -- Élan"),
            ["ne'er", "do", "well", "king", "'tis", "o'clock", "élan"])
        XCTAssertEqual(WordCorpus.tokenize(""), [])
        XCTAssertEqual(WordCorpus.tokenize("42 -- ''"), [])
    }

    func testVocabularyOrderCountsAndStream() {
        let corpus = WordCorpus(text: "b a c a b a d", minCount: 2)
        XCTAssertEqual(corpus.words, ["a", "b"]) // by count; c and d dropped
        XCTAssertEqual(corpus.counts, [3, 2])
        XCTAssertEqual(corpus.tokens, [1, 0, 0, 1, 0])
        XCTAssertEqual(corpus.rawTokenCount, 7)
        XCTAssertEqual(corpus.index(of: "b"), 1)
        XCTAssertNil(corpus.index(of: "c"))
        // ties in order of first occurrence
        XCTAssertEqual(WordCorpus(text: "z y x y z x w", minCount: 1).words, ["z", "y", "x", "w"])
    }

    func testFileErrors() throws {
        XCTAssertThrowsError(try WordCorpus(contentsOf: "/nonexistent/words.txt")) { error in
            XCTAssertEqual((error as? DataError)?.kind, .missingFile)
        }
        let path = NSTemporaryDirectory() + "word-corpus-\(getpid()).txt"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data("one two three".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try WordCorpus(contentsOf: path, minCount: 2)) { error in
            XCTAssertEqual((error as? DataError)?.kind, .tooShort)
            XCTAssertTrue("\(error)".contains("no word that occurs at least 2 times"), "\(error)")
        }
        XCTAssertEqual(try WordCorpus(contentsOf: path, minCount: 1).words, ["one", "two", "three"])
    }
}
