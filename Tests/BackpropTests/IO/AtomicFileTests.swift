@testable import Backprop
import Foundation
import XCTest

/// Atomic writes: bad paths give typed errors naming the real reason, failed writes remove
/// their temporary file and keep the previous file intact, stale temporary files of dead
/// processes are removed on the next write.
final class AtomicFileTests: XCTestCase {
    var directory: String!

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "backprop-atomic-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

    /// A writer that fails (as a full disk would) once `budget` bytes have been written.
    func failingWriter(after budget: Int) -> AtomicFile.ChunkWriter {
        var left = budget
        return { descriptor, bytes in
            guard left > 0 else { throw SystemError("No space left on device (simulated)") }
            let n = try AtomicFile.posixWrite(descriptor, UnsafeRawBufferPointer(rebasing: bytes[0..<min(left, bytes.count)]))
            left -= n
            return n
        }
    }

    func files() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: directory).sorted() }

    func writeError(_ path: String) -> FileWriteError? {
        do { try AtomicFile.write([1, 2, 3], to: path); return nil } catch { return error as? FileWriteError }
    }

    func testBadPathsThrowTypedErrorsWithTheRealReason() throws {
        let cases: [(String, FileWriteError.Kind, String)] = [
            ("", .emptyPath, "the path is empty"),
            (directory, .isDirectory, "it is a directory"),
            (directory + "/new/", .isDirectory, "the path ends with '/': it names a folder, not a file"),
            ("/dev/null", .notRegularFile, "it is a character device, not a regular file"),
            (directory + "/no/such/folder/model.safetensors", .missingFolder, "the folder \(directory!)/no/such/folder does not exist")
        ]
        for (path, kind, reason) in cases {
            XCTAssertThrowsError(try AtomicFile.checkWritable(path), path) { error in
                XCTAssertEqual(error as? FileWriteError, FileWriteError(path: path, reason: reason, kind: kind))
            }
            XCTAssertEqual(writeError(path), FileWriteError(path: path, reason: reason, kind: kind), "write checks first")
        }
        let fifo = directory + "/fifo"
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        XCTAssertEqual(writeError(fifo)?.kind, .notRegularFile)
        let plain = directory + "/plain"
        XCTAssertTrue(FileManager.default.createFile(atPath: plain, contents: Data([9])))
        XCTAssertEqual(writeError(plain + "/inside")?.reason, "\(plain) is not a folder")
        XCTAssertNoThrow(try AtomicFile.checkWritable(plain), "an existing regular file can be replaced")
        XCTAssertNoThrow(try AtomicFile.checkWritable(directory + "/new"))
        XCTAssertEqual(try files(), ["fifo", "plain"], "checks create nothing")
    }

    func testFailedWriteRemovesItsTemporaryFileAndKeepsThePreviousFile() throws {
        let path = directory + "/model.safetensors"
        let previous = (0..<5000).map { UInt8($0 % 256) }
        try AtomicFile.write(previous, to: path)
        for budget in [0, 1, 4096] {
            XCTAssertThrowsError(
                try AtomicFile.write(
                    [UInt8](repeating: 7, count: 10000), to: path, chunkSize: 1000,
                    chunkWriter: failingWriter(after: budget))
            ) { error in
                XCTAssertEqual((error as? FileWriteError)?.kind, .writeFailed)
                XCTAssertTrue(
                    "\(error)".contains("write failed after \(budget) of 10000 bytes: No space left on device (simulated)"), "\(error)")
            }
            XCTAssertEqual(try files(), ["model.safetensors"], "the temporary file is gone")
            XCTAssertEqual([UInt8](FileManager.default.contents(atPath: path)!), previous, "byte for byte")
        }
        XCTAssertNotNil(writeError(path + "/x"))
        XCTAssertEqual([UInt8](FileManager.default.contents(atPath: path)!), previous)
    }

    func testStaleTemporaryFilesOfDeadProcessesAreRemovedOnTheNextWrite() throws {
        let path = directory + "/model.safetensors"
        let dead = "model.safetensors.tmp-2147483646-3" // above any pid_max: no such process
        let live = "model.safetensors.tmp-\(getpid())-999"
        let other = "other.safetensors.tmp-2147483646-1"
        let unrelated = "model.safetensors.tmp-notes"
        for name in [dead, live, other, unrelated] {
            XCTAssertTrue(FileManager.default.createFile(atPath: directory + "/" + name, contents: Data([1])))
        }
        try AtomicFile.write([4, 5], to: path)
        XCTAssertEqual(try files(), [live, unrelated, "model.safetensors", other].sorted())
        XCTAssertEqual([UInt8](FileManager.default.contents(atPath: path)!), [4, 5])
    }
}
