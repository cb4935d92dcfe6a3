// Every relative link and image of the README and of the catalog points to a file that exists.
import Foundation
import XCTest

final class DocLinkTests: XCTestCase {
    func testEveryRelativeLinkPointsToAFile() throws {
        let files = try documentationFiles()
        XCTAssertTrue(files.contains { $0.path == "README.md" })
        let link = try NSRegularExpression(pattern: #"\]\(([^)#\s]+)(#[^)]*)?\)"#)
        var checked = 0
        for (path, text) in files {
            let folder = (path as NSString).deletingLastPathComponent
            for match in link.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                let target = String(text[Range(match.range(at: 1), in: text)!])
                if target.contains("://") || target.hasPrefix("mailto:") { continue }
                // DocC finds images by name among the catalog's resources; GitHub by path.
                let candidates =
                    path.hasPrefix("Sources/Backprop/Backprop.docc")
                    ? [folder + "/" + target, "Sources/Backprop/Backprop.docc/Resources/" + target]
                    : [folder.isEmpty ? target : folder + "/" + target]
                XCTAssertTrue(
                    candidates.contains { FileManager.default.fileExists(atPath: repositoryRoot() + "/" + $0) },
                    "\(path): the link \(target) points to no file (looked for \(candidates))")
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 10, "the documents should link their articles and pictures")
    }
}
