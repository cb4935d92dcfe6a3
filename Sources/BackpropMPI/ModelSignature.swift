// ModelSignature: the names and shapes of a model's parameters and buffers, a hash of them
// to compare across ranks, and the differences when two ranks disagree.
import Backprop

/// What every rank must agree on before training together: the scalar type and, in
/// order, each parameter's and buffer's name and shape.
public struct ModelSignature: Equatable, Sendable {
    /// One tensor of the model.
    public struct Entry: Equatable, Sendable {
        /// `parameter` or `buffer`.
        public let kind: String
        /// The state-dict name (`0.weight`, `1.running_mean`).
        public let name: String
        /// Its shape.
        public let shape: [Int]
    }

    /// `Float` or `Double`.
    public let scalar: String
    /// The distinct parameters, then the buffers, in the model's order.
    public let entries: [Entry]

    /// The signature of `model`.
    public init<L: Layer>(_ model: L) {
        scalar = "\(L.Scalar.self)"
        entries =
            model.distinctNamedParameters.map { Entry(kind: "parameter", name: $0.name, shape: $0.parameter.value.shape) }
            + model.namedBuffers.map { Entry(kind: "buffer", name: $0.name, shape: $0.buffer.value.shape) }
    }

    /// A signature read back from `text` (what `text` gives), nil if malformed.
    public init?(text: String) {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let first = lines.first, first.hasPrefix("scalar ") else { return nil }
        scalar = String(first.dropFirst(7))
        lines.removeFirst()
        var entries: [Entry] = []
        for line in lines where !line.isEmpty {
            let parts = line.split(separator: " ").map(String.init)
            guard parts.count == 3 else { return nil }
            let shape = parts[2] == "[]" ? [] : parts[2].dropFirst().dropLast().split(separator: ",").compactMap { Int($0) }
            entries.append(Entry(kind: parts[0], name: parts[1], shape: shape))
        }
        self.entries = entries
    }

    /// One line per tensor after the scalar type: `parameter 0.weight [1024,784]`.
    public var text: String {
        (["scalar " + scalar] + entries.map { "\($0.kind) \($0.name) [\($0.shape.map(String.init).joined(separator: ","))]" })
            .joined(separator: "\n")
    }

    /// FNV-1a (64 bits) of `text`: equal signatures, equal hashes, on every machine.
    public var hash: UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            h ^= UInt64(byte)
            h = h &* 0x0000_0100_0000_01b3
        }
        return h
    }

    /// What differs from `other` (this signature's view first), one line each: a scalar
    /// type, names only one side has, shapes that differ, and the order when only it differs.
    public func differences(from other: ModelSignature, mine: String = "this rank", theirs: String = "the other") -> [String] {
        var lines: [String] = []
        if scalar != other.scalar { lines.append("scalar type: \(mine) \(scalar), \(theirs) \(other.scalar)") }
        let theirEntries = Dictionary(other.entries.map { ("\($0.kind) \($0.name)", $0) }, uniquingKeysWith: { a, _ in a })
        let myEntries = Dictionary(entries.map { ("\($0.kind) \($0.name)", $0) }, uniquingKeysWith: { a, _ in a })
        for entry in entries {
            let key = "\(entry.kind) \(entry.name)"
            if let theirs_ = theirEntries[key] {
                if theirs_.shape != entry.shape { lines.append("\(key): shape \(entry.shape) on \(mine), \(theirs_.shape) on \(theirs)") }
            } else {
                lines.append("\(key) \(entry.shape): only on \(mine)")
            }
        }
        for entry in other.entries where myEntries["\(entry.kind) \(entry.name)"] == nil {
            lines.append("\(entry.kind) \(entry.name) \(entry.shape): only on \(theirs)")
        }
        if lines.isEmpty && entries != other.entries { lines.append("the same tensors in a different order") }
        return lines
    }
}
