// The documents whose code and links the tests check: README.md and the DocC catalog.
import Backprop
import Foundation

/// README.md and every article of `Sources/Backprop/Backprop.docc`, as (path relative to
/// the repository, text).
func documentationFiles() throws -> [(path: String, text: String)] {
    let root = repositoryRoot()
    var paths = ["README.md"]
    let catalog = "Sources/Backprop/Backprop.docc"
    if let walker = FileManager.default.enumerator(atPath: root + "/" + catalog) {
        for case let name as String in walker where name.hasSuffix(".md") { paths.append(catalog + "/" + name) }
    }
    return try paths.sorted().map { ($0, try String(contentsOfFile: root + "/" + $0, encoding: .utf8)) }
}

/// The repository's folder (this file is Tests/DocSnippetTests/DocumentationFiles.swift).
func repositoryRoot() -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
}

/// A code block that needs data this machine does not have: the block is reported as skipped.
struct SnippetSkip: Error {
    let message: String
}

/// For the blocks that read `Data/mnist`, as a user's package would after
/// `Scripts/download-mnist.sh`: links `Data/mnist` in the current folder (the block's
/// temporary one) to the MNIST files of `MNIST_DIR`, `../shared/data/mnist` or the checkout's
/// `Data/mnist`. Without them the block is skipped, except when `CI=true` (CI always has them).
func linkMNISTIntoCurrentFolder() throws {
    let env = ProcessInfo.processInfo.environment
    let root = repositoryRoot()
    let candidates = [env["MNIST_DIR"], root + "/../shared/data/mnist", root + "/Data/mnist"].compactMap { $0 }
    guard let source = candidates.first(where: { MNIST<Float>.isPresent(in: $0) }) else {
        let message = "MNIST not found (looked in \(candidates)); set MNIST_DIR or run Scripts/download-mnist.sh"
        if env["CI"] == "true" { throw DataError(.missingFile, file: candidates.first ?? "", "CI=true but " + message) }
        throw SnippetSkip(message: message)
    }
    try FileManager.default.createDirectory(atPath: "Data", withIntermediateDirectories: true)
    try FileManager.default.createSymbolicLink(atPath: "Data/mnist", withDestinationPath: source)
}
