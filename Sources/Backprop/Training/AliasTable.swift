// Walker's alias method: draws from a fixed discrete distribution in constant time
// (word2vec's negatives from the unigram distribution to the 3/4 power).

/// A discrete distribution over `0..<count` with probabilities proportional to the given
/// weights, sampled in O(1) by Walker's alias method (Vose's construction): one uniform
/// draw picks a column i and a threshold; the result is i if the threshold is below
/// `probability[i]`, else `alias[i]`.
///
/// ```swift
/// let counts = [50.0, 30, 20]
/// let table = AliasTable(weights: counts.map { pow($0, 0.75) })   // word2vec's noise distribution
/// var rng = Random(seed: 1)
/// let negative = table.sample(using: &rng)                         // 0, 1 or 2
/// ```
public struct AliasTable: Sendable {
    /// The chance of keeping column i (else its alias is drawn).
    public let probability: [Double]
    /// The other outcome of column i.
    public let alias: [Int32]
    /// Column thresholds in 32-bit fixed point (for `sample`): keep i if the draw's low 32
    /// bits are below `threshold[i]`.
    private let threshold: [UInt64]

    /// The number of outcomes.
    public var count: Int { probability.count }

    /// A table for non-negative, finite `weights` with a positive sum.
    public init(weights: [Double]) {
        let n = weights.count
        require(n > 0 && n < Int(Int32.max), "AliasTable: needs 1 to 2³¹ − 1 weights, got \(n)")
        require(weights.allSatisfy { $0 >= 0 && $0.isFinite }, "AliasTable: weights must be finite and non-negative")
        let total = weights.reduce(0, +)
        require(total > 0, "AliasTable: the weights sum to 0")
        var scaled = weights.map { $0 * Double(n) / total }
        var probability = [Double](repeating: 1, count: n), alias = [Int32](0..<Int32(n))
        var small: [Int] = [], large: [Int] = []
        for (i, p) in scaled.enumerated() { if p < 1 { small.append(i) } else { large.append(i) } }
        while let s = small.popLast(), let l = large.last {
            probability[s] = scaled[s]
            alias[s] = Int32(l)
            scaled[l] -= 1 - scaled[s]
            if scaled[l] < 1 { large.removeLast(); small.append(l) }
        }
        // what is left has probability 1 up to rounding
        self.probability = probability
        self.alias = alias
        threshold = probability.map { UInt64(min($0, 1) * 4294967296.0) }
    }

    /// The probability of outcome `i` that the table represents (its own column's share plus
    /// the columns aliased to it), for tests.
    public func represented(_ i: Int) -> Double {
        var p = probability[i]
        for (j, a) in alias.enumerated() where Int(a) == i && j != i { p += 1 - probability[j] }
        return p / Double(count)
    }

    /// One draw: the high 32 bits of a 64-bit random number pick the column, the low 32 the
    /// threshold.
    @inlinable
    public func sample(using rng: inout Random) -> Int {
        let r = rng.next()
        let column = Int(((r >> 32) &* UInt64(count)) >> 32)
        return (r & 0xFFFF_FFFF) < thresholdOf(column) ? column : Int(alias[column])
    }

    @usableFromInline
    func thresholdOf(_ i: Int) -> UInt64 { threshold[i] }
}
