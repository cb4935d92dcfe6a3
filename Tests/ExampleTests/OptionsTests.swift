import ExampleSupport
import XCTest

/// Strict option parsing: every bad value is one message naming the option.
final class OptionsTests: XCTestCase {
    /// The problems of parsing `arguments` after `declare` has declared the options.
    private func problems(_ arguments: [String], _ declare: (Options) -> Void) -> [String] {
        let options = Options("test", "options under test", arguments: arguments)
        declare(options)
        return options.problems
    }

    private func assertProblem(
        _ arguments: [String], contains text: String, _ declare: (Options) -> Void,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        let found = problems(arguments, declare)
        XCTAssertEqual(found.count, 1, "\(arguments): \(found)", file: file, line: line)
        XCTAssertTrue(found.first?.contains(text) ?? false, "\(arguments): expected '\(text)' in \(found)", file: file, line: line)
    }

    func testGoodValuesParse() {
        let options = Options("test", "", arguments: ["--hidden", "32, 16", "--lr", "0.5", "--seed", "7", "--epochs=3"])
        XCTAssertEqual(options.ints("hidden", [1], "", range: 1...100), [32, 16])
        XCTAssertEqual(options.double("lr", 1, ""), 0.5)
        XCTAssertEqual(options.seed(1, ""), 7)
        XCTAssertEqual(options.int("epochs", 1, "", range: 1...10), 3)
        XCTAssertEqual(options.problems, [])
    }

    func testEmptyListItemsAreRejected() {
        assertProblem(["--hidden", "32,,10"], contains: "--hidden '32,,10': item 2 is empty") { _ = $0.ints("hidden", [1], "") }
        assertProblem(["--hidden", "32,"], contains: "item 2 is empty") { _ = $0.ints("hidden", [1], "") }
        assertProblem(["--hidden", ","], contains: "item 1 is empty") { _ = $0.ints("hidden", [1], "") }
        assertProblem(["--hidden", "3x"], contains: "--hidden expects integers") { _ = $0.ints("hidden", [1], "") }
    }

    func testNegativeSeedIsRejected() {
        let options = Options("test", "", arguments: ["--seed", "-1"])
        XCTAssertEqual(options.seed(1, ""), 1) // no crash: the default, and an error
        XCTAssertEqual(options.problems.count, 1)
        XCTAssertTrue(options.problems[0].contains("--seed must be a non-negative integer, got -1"), "\(options.problems)")
    }

    func testNonFiniteAndUnparseableNumbersAreRejected() {
        for text in ["inf", "-inf", "nan", "infinity", "1e400", "0.1.2", ""] {
            assertProblem(["--lr", text], contains: "--lr expects a finite number, got '\(text)'") { _ = $0.double("lr", 1, "") }
        }
        assertProblem(["--epochs", "99999999999999999999"], contains: "--epochs expects an integer") { _ = $0.int("epochs", 1, "") }
        assertProblem(["--epochs", "2.5"], contains: "--epochs expects an integer") { _ = $0.int("epochs", 1, "") }
    }

    func testRangesNameTheOption() {
        assertProblem(["--batch", "0"], contains: "--batch must be in 1...65536, got 0") {
            _ = $0.int("batch", 1, "", range: Limits.batchSize)
        }
        assertProblem(["--threads", "5000"], contains: "--threads must be in 1...1024, got 5000") { _ = $0.threads() }
        assertProblem(["--seconds", "1e9"], contains: "--seconds must be in") { _ = $0.double("seconds", 1, "", range: 0.001...86_400) }
        assertProblem(["--hidden", "100000000000"], contains: "--hidden: every size must be in 1...1048576, got 100000000000") {
            _ = $0.ints("hidden", [1], "", range: Limits.layerSize)
        }
    }

    func testModelSizeIsBounded() {
        assertProblem([], contains: "--hidden asks for a model of 1e+10 parameters") { $0.requireParameterCount(1e10, "--hidden") }
        XCTAssertEqual(problems([]) { $0.requireParameterCount(3e6, "--hidden") }, [])
        assertProblem([], contains: "--batch: one layer's activations") { $0.requireActivations(batch: 1 << 16, width: 1 << 20, "--batch") }
    }

    func testEmptyPathsAndBadOutputsAreRejected() {
        assertProblem(["--save", ""], contains: "--save needs a non-empty value") { _ = $0.outputFile("save", "") }
        assertProblem(["--save", "/dev/null"], contains: "--save /dev/null: it is a character device, not a regular file") {
            _ = $0.outputFile("save", "")
        }
        assertProblem(["--save", "/"], contains: "names a folder, not a file") { _ = $0.outputFile("save", "") }
        assertProblem(["--save", "/tmp"], contains: "--save /tmp: it is a directory") { _ = $0.outputFile("save", "") }
        assertProblem(
            ["--save", "/no-such-folder-here/m.safetensors"],
            contains: "--save /no-such-folder-here/m.safetensors: the folder /no-such-folder-here does not exist"
        ) {
            _ = $0.outputFile("save", "")
        }
        assertProblem(["--out", "/etc/passwd/figures"], contains: "--out /etc/passwd/figures: '/etc/passwd' exists and is not a directory")
        {
            _ = $0.outputDirectory("out", ".", "")
        }
        assertProblem(["--load", "/no-such-file"], contains: "--load: cannot open '/no-such-file': No such file or directory") {
            _ = $0.inputFile("load", "")
        }
        // a folder that does not exist yet under a writable one is fine (it is created when used)
        let fresh = NSTemporaryDirectory() + "/options-test-\(getpid())/a/b"
        XCTAssertEqual(problems(["--out", fresh]) { _ = $0.outputDirectory("out", ".", "") }, [])
        XCTAssertFalse(FileManager.default.fileExists(atPath: fresh), "checking must not create the folder")
    }

    func testValueForAFlagAndMissingValues() {
        assertProblem(["--lr"], contains: "--lr needs a value") { _ = $0.double("lr", 1, "") }
        assertProblem(["--bogus", "1"], contains: "unknown option --bogus") { _ = $0.double("lr", 1, "") }
    }

    func testSchedulesRejectNonFiniteGamma() {
        assertProblem(["--schedule", "step:3:inf"], contains: "--schedule expects") { _ = $0.schedule("constant", epochs: 3) }
        XCTAssertEqual(problems(["--schedule", "step:3:0.1"]) { _ = $0.schedule("constant", epochs: 3) }, [])
    }
}
