// The error of the safetensors reader: what is wrong with a file (its kind, to match on) and
// a message naming the file, the header field or tensor, and the values.

/// A safetensors file that cannot be read, or a tensor that is not in it.
public struct SafeTensorsError: Error, CustomStringConvertible, Equatable {
    /// What kind of problem it is (for code that reacts to it; the message says more).
    public enum Kind: Equatable, Sendable {
        /// The file could not be read at all (missing, permissions).
        case unreadable
        /// Shorter than the 8-byte header length.
        case truncated
        /// The header length points past the end of the file.
        case headerPastEnd
        /// The header is not valid JSON.
        case headerNotJSON
        /// Valid JSON, but not a safetensors header (wrong types, missing fields, bad shapes).
        case malformedHeader
        /// A dtype the format does not define.
        case unknownDType
        /// A dtype the format defines but that does not convert to a tensor (integers, bool, FP8).
        case unsupportedDType
        /// Data offsets that overlap, are out of order, leave gaps, run past the end, or do
        /// not match dtype × shape.
        case badOffsets
        /// A tensor asked for by name is absent.
        case missingTensor
    }

    public let kind: Kind
    /// The file (or `<memory>`).
    public let source: String
    public let message: String

    public init(_ kind: Kind, source: String, _ message: String) {
        self.kind = kind
        self.source = source
        self.message = message
    }
    public var description: String { "\(source): \(message)" }
}
