#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif
import Backprop
import Foundation

// Checks of the files an example reads and writes, done once before any work: a wrong
// path should cost a second, not a training run. Each check returns the problem in words
// (with the path and the system's reason) or nil.

/// `strerror` for the current `errno`.
func systemReason() -> String { String(cString: strerror(errno)) }

/// What kind of thing is at `path`: nil if nothing, else `stat`'s mode bits.
func fileMode(_ path: String) -> mode_t? {
    var info = stat()
    return stat(path, &info) == 0 ? info.st_mode : nil
}

func isDirectoryMode(_ mode: mode_t) -> Bool { mode & S_IFMT == S_IFDIR }
func isRegularMode(_ mode: mode_t) -> Bool { mode & S_IFMT == S_IFREG }

/// The problem with writing a file at `path`, or nil: the path must not be empty, not a
/// directory or a device (`/dev/null`), and its folder must exist and be writable
/// (`AtomicFile.checkWritable`, what every save runs first).
public func outputFileProblem(_ path: String) -> String? {
    do { try AtomicFile.checkWritable(path) } catch let error as FileWriteError { return error.reason } catch { return "\(error)" }
    return nil
}

/// The problem with creating (if needed) and writing into the folder `path`, or nil.
/// Nothing is created: the nearest existing ancestor must be a writable directory.
public func outputDirectoryProblem(_ path: String) -> String? {
    if path.isEmpty { return "the path is empty" }
    var current = path
    while true {
        if let mode = fileMode(current) {
            if !isDirectoryMode(mode) { return "'\(current)' exists and is not a directory" }
            if access(current, W_OK | X_OK) != 0 { return "the folder '\(current)' is not writable: \(systemReason())" }
            return nil
        }
        if errno != ENOENT && errno != ENOTDIR { return "cannot use '\(current)': \(systemReason())" }
        let parent = (current as NSString).deletingLastPathComponent
        current = parent.isEmpty ? "." : parent
    }
}

/// The problem with reading the file at `path`, or nil.
public func inputFileProblem(_ path: String) -> String? {
    if path.isEmpty { return "the path is empty" }
    guard let mode = fileMode(path) else { return "cannot open '\(path)': \(systemReason())" }
    if isDirectoryMode(mode) { return "'\(path)' is a directory, not a file" }
    if access(path, R_OK) != 0 { return "cannot read '\(path)': \(systemReason())" }
    return nil
}

/// Creates the folder `path` (and its parents), or returns why it could not.
func createDirectory(_ path: String) -> String? {
    do {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return nil
    } catch {
        return outputDirectoryProblem(path) ?? "cannot create the folder '\(path)'"
    }
}

extension Options {
    /// `--name FILE`, a file the program will write: declared, and checked now (see
    /// `outputFileProblem`), so a bad path fails before training, with status 2.
    public func outputFile(_ name: String, _ help: String) -> String? {
        let path = optionalString(name, help)
        if let path, let problem = outputFileProblem(path) { require(false, "--\(name) \(path): \(problem)") }
        return path
    }

    /// `--name DIR`, a folder the program will write into (created when first used):
    /// declared, and checked now (see `outputDirectoryProblem`).
    public func outputDirectory(_ name: String, _ defaultValue: String, _ help: String) -> String {
        let path = string(name, defaultValue, help)
        if let problem = outputDirectoryProblem(path) { require(false, "--\(name) \(path): \(problem)") }
        return path
    }

    /// `--name FILE`, a file the program will read: declared, and checked now.
    public func inputFile(_ name: String, _ help: String) -> String? {
        let path = optionalString(name, help)
        if let path, let problem = inputFileProblem(path) { require(false, "--\(name): \(problem)") }
        return path
    }
}

/// The files of MNIST in `directory` (the `.gz` one if both are there), and the names missing.
public func mnistFiles(in directory: String) -> (found: [String], missing: [String]) {
    let missing = MNIST<Float>.missingFiles(in: directory)
    let found = MNIST<Float>.fileNames.filter { !missing.contains($0) }.map { name in
        FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent(name + ".gz")) ? name + ".gz" : name
    }
    return (found, missing.map { $0 + "[.gz]" })
}

/// Where MNIST is. An explicit `--data DIR` is used exactly: if it lacks a file the
/// program stops (status 2) naming the folder and the missing files. Without it: `$MNIST_DIR`,
/// then the `fallbacks` (`./Data/mnist`), the first that holds all four files. Prints the
/// folder and the files it uses.
public func locateMNIST(_ option: String?, fallbacks: [String] = ["Data/mnist"], program: String = programName) -> String {
    let directory: String
    if let option {
        if let problem = mnistDataProblem(option) { exitWithUsageError("\(program): --data \(option): \(problem)") }
        directory = option
    } else {
        let env = ProcessInfo.processInfo.environment["MNIST_DIR"]
        let candidates = ([env] + fallbacks.map { Optional($0) }).compactMap { $0 }
        guard let found = candidates.first(where: { mnistFiles(in: $0).missing.isEmpty }) else {
            let report = candidates.map { "\($0): missing \(mnistFiles(in: $0).missing.joined(separator: ", "))" }
            fail(
                """
                \(program): MNIST was not found. Looked in:
                  \(report.joined(separator: "\n  "))
                Get it with:   Scripts/download-mnist.sh            (downloads into Data/mnist)
                or point to a copy:  --data DIR  or  MNIST_DIR=DIR
                """)
        }
        directory = found
    }
    print(
        "MNIST from \(directory)\(option == nil ? (directory == ProcessInfo.processInfo.environment["MNIST_DIR"] ? " ($MNIST_DIR)" : " (default)") : ""): \(mnistFiles(in: directory).found.joined(separator: ", "))"
    )
    return directory
}

/// What is wrong with `directory` as an MNIST folder (naming the missing files), or nil.
public func mnistDataProblem(_ directory: String) -> String? {
    let (_, missing) = mnistFiles(in: directory)
    if missing.isEmpty { return nil }
    let reason = fileMode(directory) == nil ? "the folder does not exist" : "missing \(missing.joined(separator: ", "))"
    return "\(reason) (MNIST needs \(MNIST<Float>.fileNames.joined(separator: ", ")), each optionally .gz)"
}

extension Options {
    /// `--data DIR`, the MNIST folder: declared, and when given checked now (every file
    /// present), so that it fails with the other options. `locateMNIST` then finds the data.
    public func mnistData(_ help: String = "MNIST directory (else $MNIST_DIR, else ./Data/mnist)") -> String? {
        let directory = optionalString("data", help)
        if let directory, let problem = mnistDataProblem(directory) { require(false, "--data \(directory): \(problem)") }
        return directory
    }
}

/// The program's name, for messages.
public let programName = (CommandLine.arguments.first as NSString?)?.lastPathComponent ?? "example"

/// Prints `message` to standard error and exits with status 2 (a bad command line).
public func exitWithUsageError(_ message: String) -> Never {
    fflush(nil)
    FileHandle.standardError.write((message + "\n").data(using: .utf8)!)
    exit(2)
}

/// The text file of the text examples (char-lstm, word2vec): `--text FILE` as given, else
/// `$TEXT_FILE`, else `../shared/data/tinyshakespeare/input.txt`, else
/// `./Data/tinyshakespeare/input.txt` (the reader names whichever is missing).
public func locateText(_ option: String?) -> String {
    if let option { return option }
    if let env = ProcessInfo.processInfo.environment["TEXT_FILE"] { return env }
    let candidates = ["../shared/data/tinyshakespeare/input.txt", "Data/tinyshakespeare/input.txt"]
    return candidates.first { FileManager.default.fileExists(atPath: $0) } ?? candidates[0]
}
