// Atomic whole-file writes (temporary file, fsync, rename), the check a program can run
// on a save path before doing any work, and the cleanup of temporary files left by
// killed processes.
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
/// try AtomicFile.checkWritable("model.safetensors")   // before training: fails fast
/// try AtomicFile.write(bytes, to: "model.safetensors")
/// ```
///
/// The temporary file is named `<path>.tmp-<pid>-<n>`. A write that fails with an error
/// removes its temporary file. A process killed during a write cannot: its temporary
/// file stays until the next `write` to the same path, which first removes every
/// `<path>.tmp-<pid>-<n>` whose process `<pid>` no longer exists (temporary files of
/// live processes, which may be writing, are kept).
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

    /// Throws a `FileWriteError` if `write(_:to:)` to `path` is bound to fail: the path is
    /// empty, ends with "/", is a directory or another non-regular file (a device such as `/dev/null`, a
    /// FIFO), or its folder is missing, not a folder, or not writable. Cheap (a few `stat`
    /// calls, nothing created), so a program can check a `--save` path before any work.
    public static func checkWritable(_ path: String) throws {
        func fail(_ kind: FileWriteError.Kind, _ reason: String) -> FileWriteError {
            FileWriteError(path: path, reason: reason, kind: kind)
        }
        guard !path.isEmpty else { throw fail(.emptyPath, "the path is empty") }
        guard !path.hasSuffix("/") else { throw fail(.isDirectory, "the path ends with '/': it names a folder, not a file") }
        var info = stat()
        if stat(path, &info) == 0 {
            guard info.st_mode & S_IFMT != S_IFDIR else { throw fail(.isDirectory, "it is a directory") }
            guard info.st_mode & S_IFMT == S_IFREG else {
                throw fail(.notRegularFile, "it is \(fileKindName(info.st_mode)), not a regular file")
            }
        } else if errno != ENOENT && errno != ENOTDIR {
            throw fail(.folderNotWritable, "cannot examine it: \(String(cString: strerror(errno)))")
        }
        let folder = folder(of: path)
        guard stat(folder, &info) == 0 else {
            throw fail(
                .missingFolder,
                "the folder \(folder) \(errno == ENOENT ? "does not exist" : "cannot be examined: \(String(cString: strerror(errno)))")")
        }
        guard info.st_mode & S_IFMT == S_IFDIR else { throw fail(.missingFolder, "\(folder) is not a folder") }
        guard access(folder, W_OK | X_OK) == 0 else {
            throw fail(.folderNotWritable, "the folder \(folder) is not writable: \(String(cString: strerror(errno)))")
        }
    }

    /// Replaces the file at `path` by `bytes`, atomically. At most `chunkSize` bytes are
    /// handed to `chunkWriter` at a time. Runs `checkWritable(path)` first and removes the
    /// stale temporary files of dead processes (see the type's documentation). Throws a
    /// `FileWriteError`; the file at `path`, if any, is then unchanged.
    public static func write(
        _ bytes: [UInt8], to path: String, chunkSize: Int = 1 << 20,
        chunkWriter: ChunkWriter = posixWrite
    ) throws {
        require(chunkSize > 0, "AtomicFile.write: chunkSize must be positive, got \(chunkSize)")
        try checkWritable(path)
        removeStaleTemporaries(of: path)
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
                    let chunk = UnsafeRawBufferPointer(rebasing: all[offset..<min(offset + chunkSize, all.count)])
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

    /// The folder `path` is in ("." for a bare name).
    static func folder(of path: String) -> String {
        let folder = (path as NSString).deletingLastPathComponent
        return folder.isEmpty ? "." : folder
    }

    /// Removes the files `<path>.tmp-<pid>-<n>` left by processes that no longer exist
    /// (`kill(pid, 0)` fails with ESRCH). Best effort: a file that cannot be removed stays.
    static func removeStaleTemporaries(of path: String) {
        let folder = folder(of: path)
        let prefix = (path as NSString).lastPathComponent + ".tmp-"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return }
        for name in names where name.hasPrefix(prefix) {
            let parts = name.dropFirst(prefix.count).split(separator: "-", omittingEmptySubsequences: false)
            guard parts.count == 2, let pid = Int32(parts[0]), pid > 0, UInt64(parts[1]) != nil else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { unlink((folder as NSString).appendingPathComponent(name)) }
        }
    }

    /// Flushes the directory entry of the rename (best effort: some file systems refuse).
    private static func syncDirectory(of path: String) {
        let descriptor = open(folder(of: path), O_RDONLY)
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
    /// What kind of problem it is (for code that reacts to it; `reason` says more).
    public enum Kind: Equatable, Sendable {
        /// The path is the empty string.
        case emptyPath
        /// The path names a directory.
        case isDirectory
        /// The path names something other than a regular file (a device, a FIFO, a socket).
        case notRegularFile
        /// The folder the file would be in does not exist or is not a folder.
        case missingFolder
        /// The folder is not writable (or cannot be examined).
        case folderNotWritable
        /// Creating, writing, flushing or renaming the temporary file failed.
        case writeFailed
    }

    /// The file that was being written.
    public let path: String
    /// What went wrong.
    public let reason: String
    /// The kind of problem.
    public let kind: Kind
    /// An error writing `path`.
    public init(path: String, reason: String, kind: Kind = .writeFailed) {
        self.path = path
        self.reason = reason
        self.kind = kind
    }
    /// "cannot save path: reason".
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
