// Holding out part of a labelled data set for validation: a seeded, stratified split.

extension LabeledImages {
    /// How much of a data set to hold out: a number of examples, or a fraction of them.
    public enum ValidationSize: Sendable, Equatable {
        /// Exactly this many examples.
        case count(Int)
        /// This fraction of the examples, rounded to the nearest whole example.
        case fraction(Double)
    }

    /// Splits the examples into a training and a validation set, drawn at random from
    /// `seed` and **stratified**: each class gives the validation set its share of the
    /// examples, in proportion to how often it occurs (`validation · n_k / N` for a class of
    /// `n_k` of the `N` examples, rounded by largest remainder so that the shares add up to
    /// exactly the number asked for), so both sets keep the class balance of the whole.
    /// Within each set the examples keep their original order. The same seed gives the same
    /// split.
    ///
    /// Throws a `DataError` of kind `.invalidArgument` naming `validation` when the count is
    /// not in `1..<count` (both sets must hold something) or the fraction is not in (0, 1).
    ///
    /// ```swift
    /// let (train, validation) = try mnist.train.split(validation: .count(2000), seed: 1)
    /// ```
    public func split(validation: ValidationSize, seed: UInt64) throws -> (training: LabeledImages, validation: LabeledImages) {
        let source = "LabeledImages.split(validation:)"
        let held: Int
        switch validation {
        case .count(let n):
            guard (1..<count).contains(n) else {
                throw DataError(
                    .invalidArgument, file: source,
                    "validation: .count(\(n)) is outside 1..<\(count) (the data set holds \(count) examples, and both the training and the validation set need at least one)"
                )
            }
            held = n
        case .fraction(let f):
            guard f > 0 && f < 1 else {
                throw DataError(.invalidArgument, file: source, "validation: .fraction(\(f)) is outside (0, 1)")
            }
            held = Int((f * Double(count)).rounded())
            guard (1..<count).contains(held) else {
                throw DataError(
                    .invalidArgument, file: source,
                    "validation: .fraction(\(f)) of \(count) examples is \(held), outside 1..<\(count) (both sets need at least one example)"
                )
            }
        }
        // the examples of each class, in a random order
        var rng = Random(seed: seed)
        var byClass: [Int: [Int]] = [:]
        for (i, label) in labels.enumerated() { byClass[label, default: []].append(i) }
        let classes = byClass.keys.sorted()
        // each class's share: floor of the exact quota, then one more to the largest remainders
        var shares = classes.map { held * byClass[$0]!.count / count }
        let remainders = classes.indices.map { (held * byClass[classes[$0]]!.count) % count }
        let order = classes.indices.sorted { remainders[$0] != remainders[$1] ? remainders[$0] > remainders[$1] : $0 < $1 }
        for k in order.prefix(held - shares.reduce(0, +)) { shares[k] += 1 }
        var isHeld = [Bool](repeating: false, count: count)
        for (k, label) in classes.enumerated() {
            let members = byClass[label]!
            for j in rng.permutation(members.count).prefix(shares[k]) { isHeld[members[j]] = true }
        }
        let heldIndices = (0..<count).filter { isHeld[$0] }, keptIndices = (0..<count).filter { !isHeld[$0] }
        func subset(_ indices: [Int]) -> LabeledImages {
            LabeledImages(images: images.gathering(rows: indices), labels: indices.map { labels[$0] }, classCount: classCount)
        }
        return (subset(keptIndices), subset(heldIndices))
    }
}
