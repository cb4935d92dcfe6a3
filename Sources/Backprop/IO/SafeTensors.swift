import Foundation

// The safetensors file format (read and write), shared with PyTorch, MLX and Hugging Face
// (its error type is in SafeTensorsError.swift).

/// A set of named tensors in the safetensors format, the checkpoint format that PyTorch,
/// MLX and Hugging Face share.
///
/// A file is: 8 bytes (a little-endian `UInt64`, the header length N), then N bytes of
/// JSON, then the data. The JSON maps each tensor's name to its element type, shape and
/// byte range in the data, and may hold a `__metadata__` map of strings to strings:
///
/// ```text
/// {"__metadata__": {"format": "pt"},
///  "0.weight": {"dtype": "F32", "shape": [1024, 784], "data_offsets": [0, 3211264]},
///  "0.bias":   {"dtype": "F32", "shape": [1024],      "data_offsets": [3211264, 3215360]}}
/// ```
///
/// Data is row-major and little-endian; the byte ranges tile the data exactly. This type
/// writes F32 and F64 and reads F32, F64, F16 and BF16, converting to the scalar asked
/// for; integer tensors (counts) are written as I64 (`add(_:int64:shape:)`) and read
/// from I8…I64 and U8…U32 (`integers(_:)`). Reading checks everything before trusting it: a malformed file throws a
/// `SafeTensorsError` that says what is wrong, and is never read out of bounds.
///
/// ```swift
/// var file = SafeTensors(metadata: ["epoch": "3"])
/// file.add("weight", Tensor<Float>.normal([4, 3]))
/// try file.write(to: "w.safetensors")                  // atomic: temporary file + rename
/// let back = try SafeTensors(contentsOf: "w.safetensors")
/// let w: Tensor<Double> = try back.tensor("weight")    // F32 on disk, converted
/// ```
public struct SafeTensors {
    /// The element types of the format. Only the floating-point ones can become tensors;
    /// the others are recognised (so their sizes can be checked) but not converted.
    public enum DType: String, CaseIterable, Sendable {
        case bool = "BOOL", uint8 = "U8", int8 = "I8", float8e4m3 = "F8_E4M3", float8e5m2 = "F8_E5M2"
        case int16 = "I16", uint16 = "U16", float16 = "F16", bfloat16 = "BF16"
        case int32 = "I32", uint32 = "U32", float32 = "F32"
        case float64 = "F64", int64 = "I64", uint64 = "U64"

        /// Bytes per element.
        public var byteCount: Int {
            switch self {
            case .bool, .uint8, .int8, .float8e4m3, .float8e5m2: return 1
            case .int16, .uint16, .float16, .bfloat16: return 2
            case .int32, .uint32, .float32: return 4
            case .float64, .int64, .uint64: return 8
            }
        }

        /// True for the types `tensor(_:)` converts: F16, BF16, F32, F64.
        public var isConvertible: Bool { [.float16, .bfloat16, .float32, .float64].contains(self) }

        /// The type that stores `Scalar` exactly (F32 for Float, F64 for Double).
        public static func of<Scalar: TensorScalar>(_: Scalar.Type) -> DType {
            Scalar.self == Float.self ? .float32 : .float64
        }
    }

    /// One stored tensor: its element type, shape and bytes (little-endian, row-major).
    public struct Entry: Equatable {
        public let dtype: DType
        public let shape: [Int]
        public let bytes: [UInt8]
        /// Number of elements.
        public var count: Int { shape.reduce(1, *) }
    }

    /// The `__metadata__` map (free-form strings: a format tag, an epoch, a seed).
    public var metadata: [String: String]
    /// The tensor names, in the order of their data (file order, or the order added).
    public private(set) var names: [String] = []
    private var entries: [String: Entry] = [:]
    /// Where the tensors came from, for error messages.
    public let source: String

    /// An empty set, to fill with `add` and `write`.
    public init(metadata: [String: String] = [:]) {
        self.metadata = metadata
        self.source = "<memory>"
    }

    /// The entry called `name`, if any.
    public subscript(name: String) -> Entry? { entries[name] }

    /// True if a tensor called `name` is present.
    public func contains(_ name: String) -> Bool { entries[name] != nil }

    // MARK: - Writing

    /// Adds (or replaces) the tensor `name`, stored as `dtype` (F32 or F64; by default the
    /// tensor's own type, so nothing is rounded).
    public mutating func add<Scalar: TensorScalar>(_ name: String, _ tensor: Tensor<Scalar>, as dtype: DType? = nil) {
        let dtype = dtype ?? DType.of(Scalar.self)
        require(
            dtype == .float32 || dtype == .float64,
            "SafeTensors.add(\(name)): can write F32 or F64, not \(dtype.rawValue)")
        require(name != "__metadata__", "SafeTensors.add: '__metadata__' is reserved for the metadata map")
        let n = tensor.count
        let bytes = [UInt8](unsafeUninitializedCapacity: n * dtype.byteCount) { buffer, count in
            tensor.withUnsafePointer { x in
                if dtype == .float32 {
                    Scalar.encode(float32: x, UnsafeMutableRawPointer(buffer.baseAddress!), n)
                } else {
                    Scalar.encode(float64: x, UnsafeMutableRawPointer(buffer.baseAddress!), n)
                }
            }
            count = n * dtype.byteCount
        }
        if entries[name] == nil { names.append(name) }
        entries[name] = Entry(dtype: dtype, shape: tensor.shape, bytes: bytes)
    }

    /// Adds (or replaces) the integer tensor `name` of `shape`, stored as I64 (the type of
    /// PyTorch's counts, such as a batch norm's `num_batches_tracked`, shape `[]`).
    public mutating func add(_ name: String, int64 values: [Int64], shape: [Int]) {
        require(
            values.count == shape.reduce(1, *),
            "SafeTensors.add(\(name), int64:): \(values.count) values for shape \(shape)")
        require(name != "__metadata__", "SafeTensors.add: '__metadata__' is reserved for the metadata map")
        var bytes: [UInt8] = []
        bytes.reserveCapacity(values.count * 8)
        for v in values { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        if entries[name] == nil { names.append(name) }
        entries[name] = Entry(dtype: .int64, shape: shape, bytes: bytes)
    }

    /// Removes the tensor `name` if present.
    public mutating func remove(_ name: String) {
        if entries.removeValue(forKey: name) != nil { names.removeAll { $0 == name } }
    }

    /// The file's bytes: header length, JSON header (padded with spaces to a multiple of
    /// 8 bytes, so the data starts aligned), data. Tensors are stored largest element
    /// type first (so each starts aligned for its type), in `names` order within a type.
    public func encoded() -> [UInt8] {
        let order = names.enumerated().sorted { a, b in
            let (sa, sb) = (entries[a.element]!.dtype.byteCount, entries[b.element]!.dtype.byteCount)
            return sa != sb ? sa > sb : a.offset < b.offset
        }.map(\.element)
        var header: [String: Any] = [:]
        var offset = 0
        for name in order {
            let entry = entries[name]!
            header[name] =
                [
                    "dtype": entry.dtype.rawValue, "shape": entry.shape,
                    "data_offsets": [offset, offset + entry.bytes.count]
                ] as [String: Any]
            offset += entry.bytes.count
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        // Keys sorted: the same tensors always give the same bytes.
        var json = [UInt8](try! JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
        json += [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8)
        var file = [UInt8]()
        file.reserveCapacity(8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { file += $0 }
        file += json
        for name in order { file += entries[name]!.bytes }
        return file
    }

    /// Writes the file atomically (temporary file in the same folder, then rename): an
    /// earlier file at `path` survives any failure. `chunkWriter` is for tests that
    /// simulate a failing disk.
    public func write(to path: String, chunkWriter: AtomicFile.ChunkWriter = AtomicFile.posixWrite) throws {
        try AtomicFile.write(encoded(), to: path, chunkWriter: chunkWriter)
    }

    // MARK: - Reading

    /// Reads and checks the file at `path`, which must be a regular file (a FIFO, a
    /// directory or a device throws `.unreadable` at once instead of blocking or reading forever).
    public init(contentsOf path: String) throws {
        if let problem = regularFileProblem(path) { throw SafeTensorsError(.unreadable, source: path, problem) }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            let reason =
                FileManager.default.fileExists(atPath: path) ? "cannot read the file (\(error.localizedDescription))" : "no such file"
            throw SafeTensorsError(.unreadable, source: path, reason)
        }
        try self.init(bytes: [UInt8](data), source: path)
    }

    /// Parses and checks the bytes of a safetensors file.
    public init(bytes: [UInt8], source: String = "<memory>") throws {
        self.source = source
        func fail(_ kind: SafeTensorsError.Kind, _ message: String) -> SafeTensorsError {
            SafeTensorsError(kind, source: source, message)
        }

        // 1. The header length, and the header within the file.
        guard bytes.count >= 8 else {
            throw fail(.truncated, "the file is \(bytes.count) bytes long; a safetensors file starts with an 8-byte header length")
        }
        let headerLength = bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard headerLength <= UInt64(bytes.count - 8) else {
            throw fail(
                .headerPastEnd,
                "the header length \(headerLength) runs past the end of the file (\(bytes.count - 8) bytes follow the length)")
        }
        let headerEnd = 8 + Int(headerLength)
        let dataSize = bytes.count - headerEnd

        // 2. The JSON.
        // JSONSerialization checks the syntax, JSONDecoder the structure and types.
        let headerData = Data(bytes[8..<headerEnd])
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: headerData, options: [.fragmentsAllowed])
        } catch {
            throw fail(.headerNotJSON, "the header (\(headerLength) bytes) is not valid JSON")
        }
        let header: Header
        do {
            header = try JSONDecoder().decode(Header.self, from: headerData)
        } catch let error as DecodingError {
            throw Header.describe(error, json: json, source: source)
        } catch {
            throw fail(.malformedHeader, "\(error)")
        }
        metadata = header.metadata

        // 3. Each entry on its own: a known dtype, a valid shape, offsets that fit its size.
        var spans: [(name: String, range: Range<Int>)] = []
        for (name, raw) in header.entries {
            guard let dtype = DType(rawValue: raw.dtype) else {
                throw fail(
                    .unknownDType,
                    "tensor '\(name)' has unknown dtype '\(raw.dtype)' (known: \(DType.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            guard raw.shape.allSatisfy({ $0 >= 0 }) else {
                throw fail(.malformedHeader, "tensor '\(name)' has a negative extent in its shape \(raw.shape)")
            }
            var count = 1
            for extent in raw.shape {
                let (product, overflow) = count.multipliedReportingOverflow(by: extent)
                guard !overflow else { throw fail(.malformedHeader, "tensor '\(name)' has an impossibly large shape \(raw.shape)") }
                count = product
            }
            let (byteCount, overflow) = count.multipliedReportingOverflow(by: dtype.byteCount)
            guard !overflow else { throw fail(.malformedHeader, "tensor '\(name)' has an impossibly large shape \(raw.shape)") }
            guard raw.data_offsets.count == 2 else {
                throw fail(.badOffsets, "tensor '\(name)' has data_offsets \(raw.data_offsets); expected [begin, end]")
            }
            let (begin, end) = (raw.data_offsets[0], raw.data_offsets[1])
            guard begin >= 0 && end >= 0 else {
                throw fail(.badOffsets, "tensor '\(name)' has negative data_offsets [\(begin), \(end)]")
            }
            guard begin <= end else {
                throw fail(.badOffsets, "tensor '\(name)' has data_offsets out of order: begin \(begin) is after end \(end)")
            }
            guard end <= dataSize else {
                throw fail(.badOffsets, "tensor '\(name)' has data_offsets [\(begin), \(end)] past the end of the data (\(dataSize) bytes)")
            }
            guard end - begin == byteCount else {
                throw fail(
                    .badOffsets,
                    "tensor '\(name)' has \(end - begin) bytes of data but \(dtype.rawValue) \(raw.shape) needs \(count) × \(dtype.byteCount) = \(byteCount)"
                )
            }
            spans.append((name, begin..<end))
            entries[name] = Entry(dtype: dtype, shape: raw.shape, bytes: [])
        }

        // 4. Together: sorted by offset, the tensors tile the data with no overlap and no gap.
        spans.sort { ($0.range.lowerBound, $0.range.upperBound, $0.name) < ($1.range.lowerBound, $1.range.upperBound, $1.name) }
        var covered = 0
        for (i, span) in spans.enumerated() {
            if span.range.lowerBound < covered {
                throw fail(
                    .badOffsets,
                    "tensor '\(span.name)' (bytes \(span.range.lowerBound)..<\(span.range.upperBound)) overlaps tensor '\(spans[i - 1].name)' (bytes \(spans[i - 1].range.lowerBound)..<\(spans[i - 1].range.upperBound))"
                )
            }
            if span.range.lowerBound > covered {
                throw fail(
                    .badOffsets, "bytes \(covered)..<\(span.range.lowerBound) of the data belong to no tensor (before '\(span.name)')")
            }
            covered = span.range.upperBound
        }
        guard covered == dataSize else {
            throw fail(.badOffsets, "the data has \(dataSize) bytes but the tensors cover only \(covered)")
        }

        // 5. The bytes, now known to be in bounds.
        for span in spans {
            let old = entries[span.name]!
            entries[span.name] = Entry(
                dtype: old.dtype, shape: old.shape,
                bytes: Array(bytes[(headerEnd + span.range.lowerBound)..<(headerEnd + span.range.upperBound)]))
        }
        names = spans.map(\.name)
    }

    /// The tensor `name` converted to `Scalar` (from F32, F64, F16 or BF16).
    public func tensor<Scalar: TensorScalar>(_ name: String, as _: Scalar.Type = Scalar.self) throws -> Tensor<Scalar> {
        guard let entry = entries[name] else {
            throw SafeTensorsError(
                .missingTensor, source: source, "no tensor named '\(name)' (the file has: \(names.joined(separator: ", ")))")
        }
        guard entry.dtype.isConvertible else {
            throw SafeTensorsError(
                .unsupportedDType, source: source,
                "tensor '\(name)' is \(entry.dtype.rawValue); only F32, F64, F16 and BF16 convert to \(Scalar.self)")
        }
        let n = entry.count
        return entry.bytes.withUnsafeBytes { raw in
            Tensor(shape: entry.shape) { out in
                guard n > 0, let src = raw.baseAddress else { return }
                switch entry.dtype {
                case .float16: Scalar.decode(float16: src, out, n)
                case .bfloat16: Scalar.decode(bfloat16: src, out, n)
                case .float32: Scalar.decode(float32: src, out, n)
                default: Scalar.decode(float64: src, out, n)
                }
            }
        }
    }
}

extension SafeTensors.DType {
    /// True for the integer types `integers(_:)` reads: I8, I16, I32, I64, U8, U16, U32.
    public var isInteger: Bool { [.int8, .int16, .int32, .int64, .uint8, .uint16, .uint32].contains(self) }
}

extension SafeTensors {
    /// The tensor `name` as whole numbers (row-major), from an integer type (I8…I64,
    /// U8…U32). Floating-point tensors are refused: read them with `tensor(_:)`.
    public func integers(_ name: String) throws -> [Int64] {
        guard let entry = self[name] else {
            throw SafeTensorsError(
                .missingTensor, source: source, "no tensor named '\(name)' (the file has: \(names.joined(separator: ", ")))")
        }
        guard entry.dtype.isInteger else {
            throw SafeTensorsError(
                .unsupportedDType, source: source,
                "tensor '\(name)' is \(entry.dtype.rawValue); only I8, I16, I32, I64, U8, U16 and U32 read as integers")
        }
        return entry.bytes.withUnsafeBytes { raw in
            (0..<entry.count).map { i -> Int64 in
                switch entry.dtype {
                case .int8: return Int64(raw.loadUnaligned(fromByteOffset: i, as: Int8.self))
                case .uint8: return Int64(raw.loadUnaligned(fromByteOffset: i, as: UInt8.self))
                case .int16: return Int64(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)))
                case .uint16: return Int64(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                case .int32: return Int64(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)))
                case .uint32: return Int64(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                default: return Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))
                }
            }
        }
    }
}

// MARK: - The JSON header

/// The header as decoded: `__metadata__` and one entry per tensor.
private struct Header: Decodable {
    struct RawEntry: Decodable {
        let dtype: String
        let shape: [Int]
        // swiftlint:disable:next identifier_name
        let data_offsets: [Int]
    }

    struct Key: CodingKey {
        let stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    var metadata: [String: String] = [:]
    var entries: [(name: String, entry: RawEntry)] = []

    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        for key in container.allKeys {
            if key.stringValue == "__metadata__" {
                metadata = try container.decode([String: String].self, forKey: key)
            } else {
                entries.append((key.stringValue, try container.decode(RawEntry.self, forKey: key)))
            }
        }
    }

    /// The first shape or data_offsets value in `json` that is not a whole number, described.
    static func nonInteger(in json: Any) -> String? {
        guard let object = json as? [String: Any] else { return nil }
        for (name, entry) in object.sorted(by: { $0.key < $1.key }) {
            guard let entry = entry as? [String: Any] else { continue }
            for field in ["shape", "data_offsets"] {
                guard let values = entry[field] as? [Any] else { continue }
                for value in values where (value as? NSNumber).flatMap({ Int(exactly: $0.doubleValue) }) == nil {
                    return "in tensor '\(name)': '\(field)' holds \(value), not a whole number"
                }
            }
        }
        return nil
    }

    /// A readable error for a header that failed to decode.
    static func describe(_ error: DecodingError, json: Any, source: String) -> SafeTensorsError {
        func path(_ codingPath: [CodingKey]) -> String {
            codingPath.map { $0.intValue.map { "[\($0)]" } ?? "'\($0.stringValue)'" }.joined(separator: " → ")
        }
        func entryName(_ codingPath: [CodingKey]) -> String {
            guard let first = codingPath.first else { return "the header" }
            return first.stringValue == "__metadata__" ? "__metadata__ (a map of strings to strings)" : "tensor '\(first.stringValue)'"
        }
        switch error {
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            // Valid JSON (checked before) that JSONDecoder rejects as a whole: on Linux, a
            // number that is not a whole number fitting in an Int. Find which.
            return SafeTensorsError(
                .malformedHeader, source: source,
                nonInteger(in: json)
                    ?? "the header does not decode (\(context.debugDescription))")
        case let .typeMismatch(_, context) where context.codingPath.isEmpty:
            return SafeTensorsError(.malformedHeader, source: source, "the header is JSON but not an object mapping names to tensors")
        case let .typeMismatch(type, context):
            return SafeTensorsError(
                .malformedHeader, source: source,
                "in \(entryName(context.codingPath)): \(path(context.codingPath)) is not \(type == Int.self ? "an integer" : "of type \(type)")"
            )
        case let .valueNotFound(_, context):
            return SafeTensorsError(
                .malformedHeader, source: source, "in \(entryName(context.codingPath)): \(path(context.codingPath)) is null")
        case let .keyNotFound(key, context):
            return SafeTensorsError(
                .malformedHeader, source: source, "in \(entryName(context.codingPath)): the field '\(key.stringValue)' is missing")
        case let .dataCorrupted(context):
            return SafeTensorsError(
                .malformedHeader, source: source,
                "in \(entryName(context.codingPath)): \(path(context.codingPath)): \(context.debugDescription)")
        @unknown default:
            return SafeTensorsError(.malformedHeader, source: source, "\(error)")
        }
    }
}
