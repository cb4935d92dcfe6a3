// The documents whose code and links the tests check: README.md and the DocC catalog.
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
