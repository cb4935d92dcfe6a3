import Backprop
import Foundation
import XCTest

/// The safetensors reader and writer: round trips, conversions, and every kind of
/// malformed file, which must throw a clear error and never crash.
final class SafeTensorsTests: XCTestCase {
    /// A file from a header (JSON text) and data bytes, laid out as the format says.
    func makeFile(_ header: String, _ data: [UInt8] = [], headerLength: UInt64? = nil) -> [UInt8] {
        let json = [UInt8](header.utf8)
        var bytes = [UInt8]()
        withUnsafeBytes(of: (headerLength ?? UInt64(json.count)).littleEndian) { bytes += $0 }
        return bytes + json + data
    }

    func assertRejected(
        _ bytes: [UInt8], _ kind: SafeTensorsError.Kind, mentioning words: [String] = [],
        file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertThrowsError(try SafeTensors(bytes: bytes, source: "test.safetensors"), file: file, line: line) { error in
            guard let error = error as? SafeTensorsError else { return XCTFail("not a SafeTensorsError: \(error)", file: file, line: line) }
            XCTAssertEqual(error.kind, kind, "\(error)", file: file, line: line)
            XCTAssertTrue(error.description.hasPrefix("test.safetensors: "), "\(error)", file: file, line: line)
            for word in words { XCTAssertTrue(error.message.contains(word), "'\(word)' not in: \(error)", file: file, line: line) }
        }
    }

    func temporaryDirectory() throws -> String {
        let dir = NSTemporaryDirectory() + "backprop-safetensors-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }

    // MARK: round trips

    func testRoundTripKeepsValuesShapesNamesAndMetadata() throws {
        var rng = Random(seed: testSeed())
        let a = Tensor<Float>.normal([2, 3], using: &rng)
        let b = Tensor<Double>.normal([4], using: &rng)
        let scalar = Tensor<Float>(shape: [], scalars: [3.5])
        let empty = Tensor<Double>.zeros([0, 3])
        var file = SafeTensors(metadata: ["epoch": "7", "note": "ünïcödé \"quoted\""])
        file.add("layer.a", a)
        file.add("b", b)
        file.add("scalar", scalar)
        file.add("empty", empty)

        let bytes = file.encoded()
        let headerLength = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        XCTAssertEqual(headerLength % 8, 0, "the header is padded so the data starts 8-byte aligned")
        let back = try SafeTensors(bytes: bytes)
        XCTAssertEqual(back.metadata, file.metadata)
        XCTAssertEqual(Set(back.names), ["layer.a", "b", "scalar", "empty"])
        XCTAssertEqual(try back.tensor("layer.a", as: Float.self), a)
        XCTAssertEqual(try back.tensor("b", as: Double.self), b)
        XCTAssertEqual(try back.tensor("scalar", as: Float.self), scalar)
        XCTAssertEqual(try back.tensor("empty", as: Double.self), empty)
        XCTAssertEqual(back["layer.a"]?.dtype, .float32)
        XCTAssertEqual(back["b"]?.dtype, .float64)
        XCTAssertEqual(file.encoded(), bytes, "encoding is deterministic")
    }

    func testWriteThenReadFromDisk() throws {
        let dir = try temporaryDirectory()
        var rng = Random(seed: testSeed())
        let w = Tensor<Double>.normal([3, 2], using: &rng)
        var file = SafeTensors()
        file.add("w", w)
        try file.write(to: dir + "/w.safetensors")
        XCTAssertEqual(try SafeTensors(contentsOf: dir + "/w.safetensors").tensor("w", as: Double.self), w)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["w.safetensors"], "no temporary file is left")
    }

    func testConvertsBetweenFloatAndDouble() throws {
        var rng = Random(seed: testSeed())
        let d = Tensor<Double>.normal([5], using: &rng)
        var file = SafeTensors()
        file.add("d", d)
        file.add("d32", d, as: .float32)
        let back = try SafeTensors(bytes: file.encoded())
        XCTAssertEqual(try back.tensor("d", as: Float.self).scalars, d.scalars.map { Float($0) })
        XCTAssertEqual(try back.tensor("d32", as: Float.self).scalars, d.scalars.map { Float($0) })
        XCTAssertEqual(try back.tensor("d32", as: Double.self).scalars, d.scalars.map { Double(Float($0)) })
    }

    func testReadsFloat16AndBFloat16() throws {
        // half: 1, −2, 65504 (largest), 2⁻²⁴ (smallest subnormal), −0, +inf, 1/3 rounded
        let half: [UInt16] = [0x3C00, 0xC000, 0x7BFF, 0x0001, 0x8000, 0x7C00, 0x3555]
        let halfValues: [Double] = [1, -2, 65504, 0x1p-24, -0.0, .infinity, 0.333251953125]
        // bfloat16: 1, −3, 3.140625, +inf, 2⁻¹³³ (subnormal)
        let bf: [UInt16] = [0x3F80, 0xC040, 0x4049, 0x7F80, 0x0001]
        let bfValues: [Double] = [1, -3, 3.140625, .infinity, 0x1p-133]
        var data = [UInt8]()
        for h in half + bf { data += [UInt8(h & 0xFF), UInt8(h >> 8)] }
        let header = #"{"h":{"dtype":"F16","shape":[7],"data_offsets":[0,14]},"b":{"dtype":"BF16","shape":[5],"data_offsets":[14,24]}}"#
        let file = try SafeTensors(bytes: makeFile(header, data))
        XCTAssertEqual(try file.tensor("h", as: Double.self).scalars, halfValues)
        XCTAssertEqual(try file.tensor("h", as: Float.self).scalars, halfValues.map { Float($0) })
        XCTAssertEqual(try file.tensor("b", as: Double.self).scalars, bfValues)
        XCTAssertEqual(try file.tensor("h", as: Double.self).scalars[4].sign, .minus, "−0 keeps its sign")
    }

    #if !(os(macOS) && arch(x86_64))
        /// Every one of the 65,536 half-precision bit patterns decodes as Swift's own Float16 does.
        func testFloat16DecodingMatchesSwiftFloat16() throws {
            var data = [UInt8]()
            for h in 0...0xFFFF { data += [UInt8(h & 0xFF), UInt8(h >> 8)] }
            let header = #"{"all":{"dtype":"F16","shape":[65536],"data_offsets":[0,131072]}}"#
            let values = try SafeTensors(bytes: makeFile(header, data)).tensor("all", as: Float.self).scalars
            for h in 0...0xFFFF {
                let expected = Float(Float16(bitPattern: UInt16(h)))
                if expected.isNaN { XCTAssertTrue(values[h].isNaN, "0x\(String(h, radix: 16))"); continue }
                XCTAssertEqual(values[h].bitPattern, expected.bitPattern, "half 0x\(String(h, radix: 16))")
            }
        }
    #endif

    // MARK: malformed files

    func testRejectsTruncatedFiles() {
        assertRejected([], .truncated, mentioning: ["0 bytes"])
        assertRejected([1, 0, 0, 0, 0, 0, 0], .truncated, mentioning: ["7 bytes"])
    }

    func testRejectsHeaderLengthPastTheEnd() {
        assertRejected(makeFile("{}", headerLength: 1000), .headerPastEnd, mentioning: ["1000"])
        assertRejected(makeFile("{}", headerLength: 3), .headerPastEnd)
        assertRejected(makeFile("{}", headerLength: UInt64.max), .headerPastEnd, mentioning: ["\(UInt64.max)"])
        assertRejected(makeFile("{}", headerLength: 1 << 63), .headerPastEnd)
    }

    func testRejectsPathsThatAreNotRegularFilesWithoutBlocking() throws {
        let dir = try temporaryDirectory()
        let fifo = dir + "/fifo.safetensors"
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let cases = [
            (fifo, "is a FIFO (named pipe), not a regular file"), (dir, "is a directory, not a regular file"),
            ("/dev/zero", "is a character device, not a regular file"), (dir + "/missing", "no such file")
        ]
        for (path, message) in cases {
            XCTAssertThrowsError(try SafeTensors(contentsOf: path)) { error in
                XCTAssertEqual(error as? SafeTensorsError, SafeTensorsError(.unreadable, source: path, message))
            }
        }
    }

    func testRejectsHeaderThatIsNotJSON() {
        assertRejected(makeFile("not json at all"), .headerNotJSON)
        assertRejected(makeFile(#"{"a": {"dtype": "F32""#), .headerNotJSON)
        assertRejected(makeFile(""), .headerNotJSON)
        assertRejected([8, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFE, 0x7B, 0x7D, 0x80, 0x81, 0x82, 0x83], .headerNotJSON)
    }

    func testRejectsJSONThatIsNotAHeader() {
        assertRejected(makeFile("[1, 2]"), .malformedHeader, mentioning: ["not an object"])
        assertRejected(makeFile(#"{"w": 3}"#), .malformedHeader, mentioning: ["'w'"])
        assertRejected(makeFile(#"{"w": {"shape": [1], "data_offsets": [0, 4]}}"#), .malformedHeader, mentioning: ["'w'", "dtype"])
        assertRejected(
            makeFile(#"{"w": {"dtype": "F32", "shape": ["1"], "data_offsets": [0, 4]}}"#), .malformedHeader, mentioning: ["shape"])
        assertRejected(makeFile(#"{"w": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}}"#), .malformedHeader)
        assertRejected(
            makeFile(#"{"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}"#, [0, 0, 0, 0]), .malformedHeader,
            mentioning: ["negative"])
        assertRejected(
            makeFile(#"{"w": {"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 4]}}"#, [0, 0, 0, 0]),
            .malformedHeader, mentioning: ["large"])
        assertRejected(makeFile(#"{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 1e30]}}"#), .malformedHeader)
        assertRejected(makeFile(#"{"__metadata__": {"epoch": 3}}"#), .malformedHeader, mentioning: ["__metadata__"])
    }

    func testRejectsUnknownDType() {
        assertRejected(
            makeFile(#"{"w": {"dtype": "F17", "shape": [1], "data_offsets": [0, 4]}}"#, [0, 0, 0, 0]),
            .unknownDType, mentioning: ["'w'", "F17"])
    }

    func testRejectsBadOffsets() {
        let eight = [UInt8](repeating: 0, count: 8), twelve = [UInt8](repeating: 0, count: 12)
        // overlapping
        assertRejected(
            makeFile(
                #"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}"#,
                twelve),
            .badOffsets, mentioning: ["overlaps"])
        // out of order: begin after end
        assertRejected(
            makeFile(#"{"a": {"dtype": "F32", "shape": [0], "data_offsets": [8, 4]}}"#, eight),
            .badOffsets, mentioning: ["out of order"])
        // past the end of the data
        assertRejected(
            makeFile(#"{"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}"#, eight),
            .badOffsets, mentioning: ["past the end"])
        // not matching dtype × shape
        assertRejected(
            makeFile(#"{"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}"#, eight),
            .badOffsets, mentioning: ["3 × 4 = 12"])
        assertRejected(
            makeFile(#"{"a": {"dtype": "F64", "shape": [2], "data_offsets": [0, 8]}}"#, eight),
            .badOffsets)
        // a gap, and data that no tensor covers
        assertRejected(
            makeFile(#"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}"#, eight),
            .badOffsets, mentioning: ["belong to no tensor"])
        assertRejected(
            makeFile(#"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}"#, eight),
            .badOffsets, mentioning: ["cover only 4"])
        // not a pair, negative
        assertRejected(makeFile(#"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4, 8]}}"#, eight), .badOffsets)
        assertRejected(makeFile(#"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [-4, 0]}}"#, eight), .badOffsets)
    }

    func testTensorsThatCannotBeConvertedOrAreAbsent() throws {
        let file = try SafeTensors(
            bytes: makeFile(#"{"steps": {"dtype": "I64", "shape": [1], "data_offsets": [0, 8]}}"#, [7, 0, 0, 0, 0, 0, 0, 0]))
        XCTAssertEqual(file["steps"]?.dtype, .int64)
        XCTAssertThrowsError(try file.tensor("steps", as: Float.self)) { error in
            XCTAssertEqual((error as? SafeTensorsError)?.kind, .unsupportedDType, "\(error)")
        }
        XCTAssertThrowsError(try file.tensor("weight", as: Float.self)) { error in
            XCTAssertEqual((error as? SafeTensorsError)?.kind, .missingTensor, "\(error)")
            XCTAssertTrue("\(error)".contains("steps"), "the message lists what the file has: \(error)")
        }
        XCTAssertThrowsError(try SafeTensors(contentsOf: "/nonexistent/model.safetensors")) { error in
            XCTAssertEqual((error as? SafeTensorsError)?.kind, .unreadable, "\(error)")
            XCTAssertTrue("\(error)".contains("/nonexistent/model.safetensors"), "\(error)")
        }
    }

    /// Every truncation of a valid file, and thousands of random corruptions, either
    /// throw a `SafeTensorsError` or give a file whose tensors all read: no crash, no
    /// out-of-bounds read (which would crash the test process).
    func testCorruptedFilesNeverCrash() throws {
        var rng = Random(seed: testSeed())
        var file = SafeTensors(metadata: ["k": "v"])
        file.add("a", Tensor<Float>.normal([3, 2], using: &rng))
        file.add("b", Tensor<Double>.normal([2], using: &rng))
        let bytes = file.encoded()
        for length in 0..<bytes.count {
            XCTAssertThrowsError(try SafeTensors(bytes: Array(bytes[0..<length])), "truncated at \(length)")
        }
        var accepted = 0
        for _ in 0..<3000 {
            var corrupt = bytes
            for _ in 0...Int(rng.next() % 3) {
                corrupt[Int(rng.next() % UInt64(corrupt.count))] = UInt8(truncatingIfNeeded: rng.next())
            }
            do {
                let parsed = try SafeTensors(bytes: corrupt)
                for name in parsed.names where parsed[name]!.dtype.isConvertible { _ = try parsed.tensor(name, as: Double.self) }
                accepted += 1
            } catch is SafeTensorsError {
            } catch {
                XCTFail("unexpected error type \(type(of: error)): \(error)")
            }
        }
        XCTAssertGreaterThan(accepted, 0, "corrupting only tensor data gives a valid file")
    }
}
