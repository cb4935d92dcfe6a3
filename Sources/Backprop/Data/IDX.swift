// IDX arrays (the MNIST file format), read from gzip'd or raw files with bounded memory,
// and `DataError`, the error of every data-file reader.
import CZlib
import Foundation

/// An error reading a data file: names the file and what is wrong with it.
public struct DataError: Error, CustomStringConvertible, Equatable {
    /// What kind of problem it is (for code that reacts to it; `problem` says more).
    public enum Kind: Equatable, Sendable {
        /// The file (or one of a data set's files) does not exist.
        case missingFile
        /// The path is empty or names a directory, FIFO, device or socket.
        case notRegularFile
        /// The file exists but cannot be opened or read.
        case unreadable
        /// Not an IDX file: bad magic number or unknown element type.
        case notIDX
        /// The header or the data ends before what the header declares.
        case truncated
        /// More data follows what the header declares.
        case trailingData
        /// The header's dimensions overflow or exceed the size limit (`maxBytes`).
        case tooLarge
        /// The gzip stream is corrupt (bad data or checksum).
        case corrupt
        /// An array of the wrong rank for its role (images [N, H, W], labels [N]).
        case badShape
        /// Nothing to learn from: no images, images of no pixels, an empty text.
        case empty
        /// Counts or sizes that must agree do not (images and labels, training and test images).
        case mismatch
        /// A value out of its range: a label outside `0..<classes`, a label that is not an integer.
        case badValue
        /// A text file that is not UTF-8.
        case notUTF8
        /// A text too short for its split or for the windows asked of it.
        case tooShort
        /// A character that is not in a corpus's vocabulary.
        case unknownCharacter
        /// An argument out of range (a validation fraction, a window length, an offset).
        case invalidArgument
    }

    /// The kind of problem.
    public let kind: Kind
    /// The file (or folder, or `<memory>`) the problem is in.
    public let file: String
    /// What is wrong, naming the field and the values involved.
    public let problem: String
    /// An error of `kind` about `file`.
    public init(_ kind: Kind, file: String, _ problem: String) {
        self.kind = kind
        self.file = file
        self.problem = problem
    }
    /// "file: problem".
    public var description: String { "\(file): \(problem)" }
}

/// An array in the IDX format of the MNIST files: a magic number (two zero bytes, an
/// element-type byte, a dimension count), one big-endian 32-bit extent per dimension,
/// then the elements, big-endian. Files may be gzip-compressed or raw.
public struct IDXArray {
    /// The element types IDX defines, by their type byte.
    public enum ElementType: UInt8, Sendable {
        case uint8 = 0x08, int8 = 0x09, int16 = 0x0B, int32 = 0x0C, float32 = 0x0D, float64 = 0x0E

        /// Bytes per element.
        public var size: Int {
            switch self {
            case .uint8, .int8: return 1
            case .int16: return 2
            case .int32, .float32: return 4
            case .float64: return 8
            }
        }
    }

    /// The type of the stored elements.
    public let elementType: ElementType
    /// The extents from the header (checked: their product times the element size fits
    /// the byte limit).
    public let shape: [Int]
    /// The elements' bytes, as stored (big-endian).
    let bytes: [UInt8]

    /// The largest payload `init(contentsOf:)` and `init(data:)` accept by default: 2 GiB
    /// (MNIST's training images are 47 MB). Pass a larger `maxBytes` to read bigger arrays.
    public static let defaultMaxBytes = 2 << 30

    /// Reads an IDX file, gzip'd or raw, without ever holding more than the payload its
    /// header declares: the header is read and checked from the first bytes, exactly the
    /// declared payload is read (if it is at most `maxBytes`; memory grows with the data actually
    /// there, 16 MiB at a time), and reading stops at the
    /// first byte past it. Throws a `DataError` naming the file for a missing or non-regular
    /// file (FIFO, directory, device), a bad magic number, an unknown type, dimensions that
    /// overflow or exceed `maxBytes`, corrupt gzip data, and data shorter or longer than the
    /// header says.
    public init(contentsOf path: String, maxBytes: Int = IDXArray.defaultMaxBytes) throws {
        if let problem = regularFileProblem(path) {
            throw DataError(problem == "no such file" ? .missingFile : .notRegularFile, file: path, problem)
        }
        guard let gz = gzopen(path, "rb") else {
            throw DataError(.unreadable, file: path, "cannot be opened for reading: \(String(cString: strerror(errno)))")
        }
        defer { gzclose_r(gz) }
        let compressed = gzdirect(gz) == 0
        let file = path

        /// Reads up to `count` bytes into `buffer`; returns how many (fewer only at the end).
        func read(_ buffer: UnsafeMutableRawBufferPointer) throws -> Int {
            var done = 0
            while done < buffer.count {
                let n = gzread(gz, buffer.baseAddress! + done, UInt32(min(buffer.count - done, 1 << 24)))
                if n < 0 {
                    var code: Int32 = 0
                    throw DataError(.corrupt, file: file, "corrupt gzip data (\(String(cString: gzerror(gz, &code))))")
                }
                if n == 0 { break }
                done += Int(n)
            }
            return done
        }
        func endsEarly() -> String {
            var code: Int32 = 0
            _ = gzerror(gz, &code)
            return compressed && code == Z_BUF_ERROR ? " (the gzip stream ends early)" : ""
        }

        var magic = [UInt8](repeating: 0, count: 4)
        let got = try magic.withUnsafeMutableBytes(read)
        var header = Array(magic[0..<got])
        if got == 4 {
            var extents = [UInt8](repeating: 0, count: 4 * Int(magic[3]))
            let n = try extents.withUnsafeMutableBytes(read)
            header += extents[0..<n]
        }
        let (type, shape, payloadBytes) = try IDXArray.parseHeader(header, file: file, maxBytes: maxBytes, suffix: endsEarly())
        // The payload grows with the data actually read, in chunks of at most 16 MiB: a
        // short file whose header declares gigabytes costs one chunk, not the declared size.
        let chunkBytes = min(payloadBytes, 1 << 24)
        var payload = [UInt8]()
        payload.reserveCapacity(chunkBytes)
        var chunk = [UInt8](repeating: 0, count: chunkBytes)
        while payload.count < payloadBytes {
            let want = min(chunkBytes, payloadBytes - payload.count)
            let n = try chunk.withUnsafeMutableBytes { try read(UnsafeMutableRawBufferPointer(rebasing: $0[0..<want])) }
            payload.append(contentsOf: chunk[0..<n])
            if n < want { break }
        }
        guard payload.count == payloadBytes else {
            throw DataError(
                .truncated, file: file,
                "truncated data: header says \(shape) \(type) elements (\(payloadBytes) bytes), file has \(payload.count)\(endsEarly())")
        }
        var extra: UInt8 = 0
        if try withUnsafeMutableBytes(of: &extra, read) > 0 {
            throw DataError(
                .trailingData, file: file,
                "more data than the header declares: \(shape) \(type) elements are \(payloadBytes) bytes after the \(header.count)-byte header, but the \(compressed ? "decompressed stream" : "file") goes on (reading stopped at byte \(gztell(gz)))"
            )
        }
        self.elementType = type
        self.shape = shape
        self.bytes = payload
    }

    /// Parses IDX bytes; `file` names the source in errors. Same checks as `init(contentsOf:)`.
    public init(data: [UInt8], file: String = "<memory>", maxBytes: Int = IDXArray.defaultMaxBytes) throws {
        let rank = data.count >= 4 ? Int(data[3]) : 0
        let (type, shape, expected) = try IDXArray.parseHeader(Array(data.prefix(4 + 4 * rank)), file: file, maxBytes: maxBytes)
        let headerSize = 4 + 4 * rank
        let available = data.count - headerSize
        guard available >= expected else {
            throw DataError(
                .truncated, file: file, "truncated data: header says \(shape) \(type) elements (\(expected) bytes), file has \(available)")
        }
        guard available == expected else {
            throw DataError(
                .trailingData, file: file,
                "more data than the header declares: \(available - expected) unexpected bytes after the \(shape) \(type) elements (\(expected) bytes)"
            )
        }
        self.elementType = type
        self.shape = shape
        self.bytes = Array(data[headerSize...])
    }

    /// Checks an IDX header (magic, type, rank, extents; `header` may be cut short) and
    /// returns the element type, the shape and the payload's size in bytes, which is at most
    /// `maxBytes`. `suffix` is added to a truncation message.
    static func parseHeader(_ header: [UInt8], file: String, maxBytes: Int, suffix: String = "") throws -> (ElementType, [Int], Int) {
        require(maxBytes >= 0, "IDXArray: maxBytes must not be negative, got \(maxBytes)")
        guard header.count >= 4 else {
            throw DataError(.truncated, file: file, "too short for an IDX header (\(header.count) bytes)\(suffix)")
        }
        guard header[0] == 0, header[1] == 0 else {
            throw DataError(
                .notIDX, file: file,
                String(format: "not an IDX file: magic number starts 0x%02X%02X, expected 0x0000", header[0], header[1]))
        }
        guard let type = ElementType(rawValue: header[2]) else {
            throw DataError(.notIDX, file: file, String(format: "unknown IDX element type 0x%02X", header[2]))
        }
        let rank = Int(header[3])
        let headerSize = 4 + 4 * rank
        guard header.count >= headerSize else {
            throw DataError(
                .truncated, file: file, "truncated header: \(rank) dimensions need \(headerSize) bytes, file has \(header.count)\(suffix)")
        }
        let shape = (0..<rank).map { d -> Int in
            let o = 4 + 4 * d
            return Int(header[o]) << 24 | Int(header[o + 1]) << 16 | Int(header[o + 2]) << 8 | Int(header[o + 3])
        }
        var bytes = type.size
        for extent in shape {
            let (product, overflow) = bytes.multipliedReportingOverflow(by: extent)
            guard !overflow else {
                throw DataError(
                    .tooLarge, file: file, "the header's dimensions \(shape) of \(type) overflow: their byte size is more than \(Int.max)")
            }
            bytes = product
        }
        guard bytes <= maxBytes else {
            throw DataError(
                .tooLarge, file: file,
                "the header's dimensions \(shape) of \(type) need \(bytes) bytes, more than the limit of \(maxBytes) (maxBytes)")
        }
        return (type, shape, bytes)
    }

    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }

    /// Element `i` as a Double, decoded from big-endian.
    public func value(at i: Int) -> Double {
        let o = i * elementType.size
        func word(_ n: Int) -> UInt64 { (0..<n).reduce(UInt64(0)) { $0 << 8 | UInt64(bytes[o + $1]) } }
        switch elementType {
        case .uint8: return Double(bytes[o])
        case .int8: return Double(Int8(bitPattern: bytes[o]))
        case .int16: return Double(Int16(bitPattern: UInt16(word(2))))
        case .int32: return Double(Int32(bitPattern: UInt32(word(4))))
        case .float32: return Double(Float(bitPattern: UInt32(word(4))))
        case .float64: return Double(bitPattern: word(8))
        }
    }

    /// All elements as a tensor of this array's shape, each multiplied by `scale`.
    public func tensor<Scalar: TensorScalar>(scale: Double = 1, as: Scalar.Type = Scalar.self) -> Tensor<Scalar> {
        if elementType == .uint8 {
            let s = Scalar(scale)
            return bytes.withUnsafeBufferPointer { b in
                Tensor(shape: shape) { Scalar.fromBytes(b.baseAddress!, $0, b.count, scale: s) }
            }
        }
        return Tensor(shape: shape) { out in for i in 0..<count { out[i] = Scalar(value(at: i) * scale) } }
    }

    /// All elements as integers (labels); throws if one is not a whole number.
    public func integers(file: String = "<memory>") throws -> [Int] {
        try (0..<count).map { i in
            let v = value(at: i)
            guard v == v.rounded(), abs(v) < 1e15 else {
                throw DataError(.badValue, file: file, "element \(i) = \(v) is not an integer label")
            }
            return Int(v)
        }
    }
}
