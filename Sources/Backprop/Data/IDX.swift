import CZlib
import Foundation

/// An error reading a data file: names the file and what is wrong with it.
public struct DataError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let problem: String
    public init(file: String, _ problem: String) {
        self.file = file
        self.problem = problem
    }
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

    public let elementType: ElementType
    public let shape: [Int]
    /// The elements' bytes, as stored (big-endian).
    let bytes: [UInt8]

    /// Reads an IDX file, gzip'd or raw. Throws a `DataError` naming the file for a missing
    /// file, a bad magic number, an unknown type, or data shorter (or longer) than the header says.
    public init(contentsOf path: String) throws {
        let data = try readPossiblyGzipped(path)
        try self.init(data: data, file: path)
    }

    /// Parses IDX bytes; `file` names the source in errors.
    public init(data: [UInt8], file: String = "<memory>") throws {
        guard data.count >= 4 else { throw DataError(file: file, "too short for an IDX header (\(data.count) bytes)") }
        guard data[0] == 0, data[1] == 0 else {
            throw DataError(file: file, String(format: "not an IDX file: magic number starts 0x%02X%02X, expected 0x0000", data[0], data[1]))
        }
        guard let type = ElementType(rawValue: data[2]) else {
            throw DataError(file: file, String(format: "unknown IDX element type 0x%02X", data[2]))
        }
        let rank = Int(data[3])
        let headerSize = 4 + 4 * rank
        guard data.count >= headerSize else {
            throw DataError(file: file, "truncated header: \(rank) dimensions need \(headerSize) bytes, file has \(data.count)")
        }
        let shape = (0..<rank).map { d -> Int in
            let o = 4 + 4 * d
            return Int(data[o]) << 24 | Int(data[o + 1]) << 16 | Int(data[o + 2]) << 8 | Int(data[o + 3])
        }
        let expected = shape.reduce(1, *) * type.size
        let available = data.count - headerSize
        guard available >= expected else {
            throw DataError(file: file, "truncated data: header says \(shape) \(type) elements (\(expected) bytes), file has \(available)")
        }
        guard available == expected else {
            throw DataError(file: file, "\(available - expected) unexpected bytes after the \(shape) \(type) elements the header declares")
        }
        self.elementType = type
        self.shape = shape
        self.bytes = Array(data[headerSize...])
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
            guard v == v.rounded(), abs(v) < 1e15 else { throw DataError(file: file, "element \(i) = \(v) is not an integer label") }
            return Int(v)
        }
    }
}

/// The bytes of a file, decompressed if it is gzip'd (zlib reads raw files unchanged).
func readPossiblyGzipped(_ path: String) throws -> [UInt8] {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
        throw DataError(file: path, "no such file")
    }
    guard !isDirectory.boolValue else { throw DataError(file: path, "is a directory, not a file") }
    guard let gz = gzopen(path, "rb") else { throw DataError(file: path, "cannot be opened for reading") }
    var result: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 20)
    while true {
        let n = chunk.withUnsafeMutableBytes { gzread(gz, $0.baseAddress, UInt32($0.count)) }
        if n < 0 {
            var code: Int32 = 0
            let message = String(cString: gzerror(gz, &code))
            gzclose(gz)
            throw DataError(file: path, "corrupt or truncated gzip data (\(message))")
        }
        if n == 0 { break }
        result.append(contentsOf: chunk[0..<Int(n)])
    }
    let status = gzclose_r(gz)
    if status == Z_BUF_ERROR { throw DataError(file: path, "truncated gzip data: the compressed stream ends early") }
    if status != Z_OK { throw DataError(file: path, "error reading gzip data (zlib status \(status))") }
    return result
}
