#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Writes whole files atomically: the bytes go to a temporary file in the same folder,
/// which is flushed to disk and then renamed over the destination (POSIX `rename` is
/// atomic within a file system). A reader therefore sees either the old file or the new
/// one, never a half-written mix, and a save that fails (full disk, a crash, a kill)
/// leaves an earlier file at that path intact.
///
/// ```swift
/// try AtomicFile.write(bytes, to: "model.safetensors")
/// ```
///
/// The temporary file is named `<path>.tmp-<pid>-<n>` and is removed when the write fails.
public enum AtomicFile {
    /// Writes some of `bytes` to the open file `descriptor` and returns how many were
    /// written (at least 1), or throws. The default is POSIX `write(2)`; tests substitute
    /// one that fails part way to simulate a full disk or an interrupted save.
    public typealias ChunkWriter = (_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer) throws -> Int

    /// `write(2)`, retried on EINTR; throws with the system's message on failure.
    public static func posixWrite(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer) throws -> Int {
        while true {
            let n = systemWrite(descriptor, bytes.baseAddress, bytes.count)
            if n >= 0 { return n }
            if errno != EINTR { throw SystemError(String(cString: strerror(errno))) }
        }
    }

    /// Replaces the file at `path` by `bytes`, atomically. At most `chunkSize` bytes are
    /// handed to `chunkWriter` at a time.
    public static func write(_ bytes: [UInt8], to path: String, chunkSize: Int = 1 << 20,
                             chunkWriter: ChunkWriter = posixWrite) throws {
        require(chunkSize > 0, "AtomicFile.write: chunkSize must be positive, got \(chunkSize)")
        let temporary = temporaryPath(for: path)
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard descriptor >= 0 else {
            throw FileWriteError(path: path, reason: "cannot create \(temporary): \(String(cString: strerror(errno)))")
        }
        var closed = false
        do {
            try bytes.withUnsafeBytes { all in
                var offset = 0
                while offset < all.count {
                    let chunk = UnsafeRawBufferPointer(rebasing: all[offset ..< min(offset + chunkSize, all.count)])
                    let n: Int
                    do { n = try chunkWriter(descriptor, chunk) } catch {
                        throw FileWriteError(path: path, reason: "write failed after \(offset) of \(all.count) bytes: \(error)")
                    }
                    guard n > 0 && n <= chunk.count else {
                        throw FileWriteError(path: path, reason: "write made no progress after \(offset) of \(all.count) bytes")
                    }
                    offset += n
                }
            }
            guard fsync(descriptor) == 0 else {
                throw FileWriteError(path: path, reason: "cannot flush \(temporary): \(String(cString: strerror(errno)))")
            }
            closed = true
            guard close(descriptor) == 0 else {
                throw FileWriteError(path: path, reason: "cannot close \(temporary): \(String(cString: strerror(errno)))")
            }
            guard rename(temporary, path) == 0 else {
                throw FileWriteError(path: path, reason: "cannot rename \(temporary) to \(path): \(String(cString: strerror(errno)))")
            }
        } catch {
            if !closed { close(descriptor) }
            unlink(temporary)
            throw error
        }
        syncDirectory(of: path)
    }

    /// Flushes the directory entry of the rename (best effort: some file systems refuse).
    private static func syncDirectory(of path: String) {
        let directory = (path as NSString).deletingLastPathComponent
        let descriptor = open(directory.isEmpty ? "." : directory, O_RDONLY)
        if descriptor >= 0 {
            _ = fsync(descriptor)
            close(descriptor)
        }
    }

    /// A fresh temporary name next to `path` (same folder, hence same file system).
    static func temporaryPath(for path: String) -> String {
        counter.withLock { n in
            n += 1
            return "\(path).tmp-\(getpid())-\(n)"
        }
    }

    private static let counter = Locked(0)
}

/// A save that could not be completed; the destination file is unchanged.
public struct FileWriteError: Error, CustomStringConvertible, Equatable {
    /// The file that was being written.
    public let path: String
    /// What went wrong.
    public let reason: String
    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }
    public var description: String { "cannot save \(path): \(reason)" }
}

/// The message of a failed system call.
struct SystemError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// POSIX write(2), under a name that does not clash with `AtomicFile.write`.
@inline(__always)
private func systemWrite(_ descriptor: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int {
    write(descriptor, buffer, count)
}

/// A value guarded by a lock.
final class Locked<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()
    init(_ value: Value) { self.value = value }
    func withLock<R>(_ body: (inout Value) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}
