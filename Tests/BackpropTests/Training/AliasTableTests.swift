// Tests of AliasTable: the distribution it represents and the frequencies of its draws.
import Backprop
import Foundation
import XCTest

final class AliasTableTests: XCTestCase {
    func testRepresentsTheWeights() {
        let weights = [1.0, 2, 3, 0, 4, 0.5]
        let table = AliasTable(weights: weights)
        let total = weights.reduce(0, +)
        for (i, w) in weights.enumerated() { XCTAssertEqual(table.represented(i), w / total, accuracy: 1e-12, "outcome \(i)") }
        XCTAssertEqual(AliasTable(weights: [5]).represented(0), 1, accuracy: 1e-15)
    }

    func testDrawFrequencies() {
        let weights = [1.0, 2, 3, 0, 4]
        let table = AliasTable(weights: weights)
        var rng = Random(seed: testSeed())
        var seen = [Int](repeating: 0, count: weights.count)
        let draws = 200_000
        for _ in 0..<draws { seen[table.sample(using: &rng)] += 1 }
        XCTAssertEqual(seen[3], 0, "a zero weight is never drawn")
        for (i, w) in weights.enumerated() where w > 0 {
            let p = w / 10, sd = (p * (1 - p) / Double(draws)).squareRoot()
            XCTAssertEqual(Double(seen[i]) / Double(draws), p, accuracy: 5 * sd, "outcome \(i)")
        }
    }
}
