// Every `swift run -c release <program> --option …` line in the code blocks of the README and
// of the DocC catalog names a program of this package and options that program has.
import Foundation
import XCTest

extension ExampleRunTests {
    /// The shell lines of the documents' code blocks (```sh, ```console, ``` without a language).
    static func documentedCommands() throws -> [(place: String, line: String)] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        var paths = ["README.md"]
        let catalog = "Sources/Backprop/Backprop.docc"
        for case let name as String in FileManager.default.enumerator(atPath: root + "/" + catalog)?.allObjects ?? []
        where name.hasSuffix(".md") {
            paths.append(catalog + "/" + name)
        }
        var commands: [(String, String)] = []
        for path in paths {
            let lines = try String(contentsOfFile: root + "/" + path, encoding: .utf8).components(separatedBy: "\n")
            var inShell = false, inCode = false
            for (number, line) in lines.enumerated() {
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                if trimmed.hasPrefix("```") {
                    if inCode {
                        inCode = false; inShell = false
                    } else {
                        inCode = true
                        inShell = ["```", "```sh", "```bash", "```console", "```shell"].contains(trimmed)
                    }
                } else if inShell {
                    commands.append(("\(path):\(number + 1)", line))
                }
            }
        }
        return commands
    }

    func testEveryDocumentedCommandNamesAProgramAndItsOptions() throws {
        var checked = 0
        var helps: [String: String] = [:]
        for (place, line) in try Self.documentedCommands() {
            // each `swift run -c release NAME args` in the line (a line may chain two with &&)
            for part in line.components(separatedBy: "swift run -c release ").dropFirst() {
                let command = part.components(separatedBy: "#")[0].components(separatedBy: "&&")[0]
                let words = command.split(separator: " ").map { String($0).trimmingCharacters(in: CharacterSet(charactersIn: "[]")) }
                guard let name = words.first, !name.hasPrefix("-") else { continue }
                if helps[name] == nil {
                    let help = try run(name, ["--help"])
                    XCTAssertEqual(help.status, 0, "\(place): `\(name) --help` failed: \(help.stderr)")
                    helps[name] = help.stdout + help.stderr
                }
                for option in words.dropFirst() where option.hasPrefix("--") {
                    let flag = option.components(separatedBy: "=")[0]
                    XCTAssertTrue(
                        helps[name]!.contains(flag + " ") || helps[name]!.contains(flag + "\n") || helps[name]!.contains(flag + ","),
                        "\(place): \(name) has no option \(flag) (its --help does not list it)")
                }
                checked += 1
            }
            // scripts named at the start of a line exist
            if let script = line.split(separator: " ").first, script.hasPrefix("Scripts/") {
                let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                    .deletingLastPathComponent().path
                XCTAssertTrue(
                    FileManager.default.isExecutableFile(atPath: root + "/" + script), "\(place): \(script) is not an executable script")
            }
        }
        XCTAssertGreaterThan(checked, 5, "the documents should show how to run the examples")
    }
}
