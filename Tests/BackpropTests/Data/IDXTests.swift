@testable import Backprop
import CZlib
import Foundation
import XCTest

/// Malformed IDX files: oversized or overflowing headers, gzip bombs, trailing data and
/// paths that are not regular files each throw a specific `DataError`.
final class IDXTests: XCTestCase {
    var directory: String!

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "backprop-idx-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

    /// IDX bytes: magic (0, 0, type, rank), big-endian extents, then `payload`.
    func idx(type: UInt8 = 0x08, shape: [Int], payload: [UInt8] = []) -> [UInt8] {
        var bytes: [UInt8] = [0, 0, type, UInt8(shape.count)]
        for d in shape { bytes += [UInt8(d >> 24 & 0xFF), UInt8(d >> 16 & 0xFF), UInt8(d >> 8 & 0xFF), UInt8(d & 0xFF)] }
        return bytes + payload
    }

    /// Writes `bytes` (gzip'd if asked) to a file of the temporary folder; returns its path.
    func write(_ name: String, _ bytes: [UInt8], gzip: Bool = false) -> String {
        let path = directory + "/" + name
        if gzip {
            let gz = gzopen(path, "wb")!
            _ = bytes.withUnsafeBytes { gzwrite(gz, $0.baseAddress, UInt32($0.count)) }
            gzclose(gz)
        } else {
            _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        }
        return path
    }

    /// The error reading `path`, as text ("no error" if it reads).
    func error(_ path: String, maxBytes: Int = IDXArray.defaultMaxBytes) -> String {
        do { _ = try IDXArray(contentsOf: path, maxBytes: maxBytes); return "no error" } catch { return "\(error)" }
    }

    func testGzipThatInflatesPastTheHeaderStopsAtTheFirstExtraByte() {
        // a 1×1 image followed by 8 MB of zeros: about 8 KB compressed
        let bomb = write("bomb.gz", idx(shape: [1, 1], payload: [7]) + [UInt8](repeating: 0, count: 8 << 20), gzip: true)
        let message = error(bomb)
        XCTAssertTrue(message.hasPrefix(bomb + ": more data than the header declares: [1, 1] uint8 elements are 1 bytes"), message)
        XCTAssertTrue(message.hasSuffix("(reading stopped at byte 14)"), "reads header (12) + payload (1) + 1 byte, no more: \(message)")
        // the same in a raw file
        let raw = write("raw", idx(shape: [2], payload: [1, 2, 3]))
        XCTAssertTrue(error(raw).contains("more data than the header declares"), error(raw))
        XCTAssertTrue(error(raw).contains("file goes on"), error(raw))
    }

    func testHeadersBeyondTheLimitOrOverflowingThrowBeforeAllocating() throws {
        let huge = write("huge.gz", idx(shape: [1 << 20, 1 << 20]), gzip: true)
        XCTAssertEqual(
            error(huge),
            "\(huge): the header's dimensions [1048576, 1048576] of uint8 need 1099511627776 bytes, more than the limit of 2147483648 (maxBytes)"
        )
        let overflow = write("overflow", idx(type: 0x0E, shape: [0xFFFF_FFFF, 0xFFFF_FFFF, 0xFFFF_FFFF]))
        XCTAssertTrue(error(overflow).contains("dimensions [4294967295, 4294967295, 4294967295] of float64 overflow"), error(overflow))
        XCTAssertThrowsError(try IDXArray(data: idx(type: 0x0E, shape: [0xFFFF_FFFF, 0xFFFF_FFFF, 0xFFFF_FFFF]))) { error in
            XCTAssertTrue("\(error)".contains("overflow"), "\(error)")
        }
        // a lower limit applies, a higher one lets the file through
        let small = write("small.gz", idx(shape: [4, 4], payload: [UInt8](repeating: 1, count: 16)), gzip: true)
        XCTAssertTrue(
            error(small, maxBytes: 15).contains("[4, 4] of uint8 need 16 bytes, more than the limit of 15"), error(small, maxBytes: 15))
        XCTAssertEqual(error(small, maxBytes: 16), "no error")
        XCTAssertEqual(try IDXArray(contentsOf: small).shape, [4, 4])
    }

    func testTruncatedGzipAndRawData() {
        let payload = (0..<1000).map { UInt8($0 % 251) }
        let whole = write("whole.gz", idx(shape: [1000], payload: payload), gzip: true)
        let bytes = [UInt8](FileManager.default.contents(atPath: whole)!)
        let cut = write("cut.gz", Array(bytes[0..<(bytes.count - 12)]))
        XCTAssertTrue(error(cut).contains("(the gzip stream ends early)"), error(cut))
        let raw = write("short", idx(shape: [10], payload: [1, 2]))
        XCTAssertEqual(error(raw), "\(raw): truncated data: header says [10] uint8 elements (10 bytes), file has 2")
        let empty = write("empty", [])
        XCTAssertEqual(error(empty), "\(empty): too short for an IDX header (0 bytes)")
        // a corrupted checksum at the end of the stream
        var bad = bytes
        bad[bad.count - 8] ^= 0xFF
        let crc = write("crc.gz", bad)
        XCTAssertTrue(error(crc).contains("corrupt gzip data"), error(crc))
    }

    func testPathsThatAreNotRegularFilesThrowWithoutBlocking() {
        let fifo = directory + "/fifo"
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        XCTAssertEqual(error(fifo), "\(fifo): is a FIFO (named pipe), not a regular file")
        XCTAssertEqual(error(directory), "\(directory!): is a directory, not a regular file")
        XCTAssertEqual(error("/dev/zero"), "/dev/zero: is a character device, not a regular file")
        XCTAssertEqual(error(""), ": the path is empty")
    }

    func testEachProblemHasItsKind() {
        func kind(_ path: String) -> DataError.Kind? {
            do { _ = try IDXArray(contentsOf: path); return nil } catch { return (error as? DataError)?.kind }
        }
        let fifo = directory + "/fifo"
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        var gzipped = [UInt8](FileManager.default.contents(atPath: write("good.gz", idx(shape: [3], payload: [1, 2, 3]), gzip: true))!)
        gzipped[gzipped.count - 6] ^= 0x55 // the CRC-32 of the data
        let cases: [(String, DataError.Kind)] = [
            (directory + "/missing", .missingFile),
            (fifo, .notRegularFile),
            (write("magic", [1, 0, 8, 0]), .notIDX),
            (write("short", idx(shape: [3], payload: [1])), .truncated),
            (write("long", idx(shape: [1], payload: [1, 2])), .trailingData),
            (write("huge", idx(shape: [1 << 16, 1 << 16, 1 << 16])), .tooLarge),
            (write("corrupt.gz", gzipped), .corrupt)
        ]
        for (path, expected) in cases { XCTAssertEqual(kind(path), expected, path) }
    }
}
