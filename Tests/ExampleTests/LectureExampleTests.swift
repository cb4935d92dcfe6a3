// The lecture examples (autoencoder-dynamics, siamese, semantic-hashing) run as programs:
// --help, a bad option, and a tiny run that writes its figure.
import Foundation
import XCTest

extension ExampleRunTests {
    func testAutoencoderDynamicsHelpBadOptionAndTinyRun() throws {
        let help = try run("autoencoder-dynamics", ["--help"])
        XCTAssertEqual(help.status, 0, help.stderr)
        XCTAssertTrue(help.stdout.contains("--sigma") && help.stdout.contains("--iterations"), help.stdout)
        assertFails(try run("autoencoder-dynamics", ["--curve", "square"]), status: 2, "--curve must be circle or spiral, got 'square'")
        assertFails(try run("autoencoder-dynamics", ["--sigma", "0"]), status: 2, "--sigma must be in (0, 2)")
        for curve in ["circle", "spiral"] {
            let result = try run(
                "autoencoder-dynamics",
                [
                    "--curve", curve, "--points", "50", "--hidden", "16", "--steps", "20",
                    "--grid", "3", "--iterations", "2", "--out", path("figures")
                ])
            XCTAssertEqual(result.status, 0, result.stderr)
            XCTAssertTrue(result.stdout.contains("mean distance to the \(curve) of 9 random starts"), result.stdout)
            let svg = try String(contentsOfFile: path("figures/autoencoder-dynamics-\(curve).svg"), encoding: .utf8)
            XCTAssertTrue(svg.hasPrefix("<?xml") || svg.contains("<svg"), String(svg.prefix(200)))
            XCTAssertTrue(svg.contains("E(x)"))
        }
    }

    func testSiameseHelpBadOptionAndTinyRun() throws {
        let data = try writeMNIST()
        let help = try run("siamese", ["--help"])
        XCTAssertEqual(help.status, 0, help.stderr)
        XCTAssertTrue(help.stdout.contains("--margin") && help.stdout.contains("--pairs"), help.stdout)
        assertFails(try run("siamese", ["--data", data, "--margin", "-1"]), status: 2, "--margin must be in (0, 1000]")
        let result = try run(
            "siamese",
            [
                "--data", data, "--epochs", "1", "--pairs", "32", "--batch", "16", "--k", "3",
                "--threads", "1", "--out", path("figures")
            ])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("3-NN test accuracy in 2-D: Siamese code"), result.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("figures/siamese-codes.svg")))
    }

    func testSemanticHashingHelpBadOptionAndTinyRun() throws {
        let data = try writeMNIST()
        let help = try run("semantic-hashing", ["--help"])
        XCTAssertEqual(help.status, 0, help.stderr)
        XCTAssertTrue(help.stdout.contains("--bits") && help.stdout.contains("--noise"), help.stdout)
        assertFails(try run("semantic-hashing", ["--data", data, "--bits", "40"]), status: 2, "--bits must be in 1...32")
        let result = try run(
            "semantic-hashing",
            [
                "--data", data, "--epochs", "1", "--batch", "16", "--retrieve", "5",
                "--threads", "1", "--out", path("figures")
            ])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("precision at 5 (same digit) by Hamming distance, 28 bits: semantic hashing"), result.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("figures/semantic-hashing-reconstructions.png")))
    }
}
