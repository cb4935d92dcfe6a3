import Backprop
import Foundation
import XCTest

/// The example programs run on bad input: each must stop with the right status and a
/// message naming the problem, before any work, and never lose a model file. The data is
/// a tiny synthetic MNIST written by the test, so every run takes a fraction of a second.
final class ExampleRunTests: XCTestCase {
    private var folder = ""

    override func setUpWithError() throws {
        folder = NSTemporaryDirectory() + "example-run-tests-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: folder)
    }

    // MARK: Running the programs

    /// The folder of the built executables: the one holding this test bundle.
    static let buildFolder = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().path

    struct Run {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// Runs example `name` with `arguments` in the temporary folder; skips the test if the
    /// example was not built.
    func run(
        _ name: String, _ arguments: [String], environment: [String: String] = [:],
        file: StaticString = #filePath, line: UInt = #line
    ) throws -> Run {
        let executable = (Self.buildFolder as NSString).appendingPathComponent(name)
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw XCTSkip("\(name) is not built in \(Self.buildFolder): run `swift build --build-tests` first")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        var env = Self.environmentWithoutMPI()
        env["MNIST_DIR"] = nil
        env["TEXT_FILE"] = nil
        env["SWIFT_BACKTRACE"] = "enable=no"
        for (key, value) in environment { env[key] = value }
        process.environment = env
        // output to files: a pipe nobody reads while the program runs could fill and block it
        let outPath = path("stdout.txt"), errPath = path("stderr.txt")
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        defer { try? out.close(); try? err.close() }
        process.standardOutput = out
        process.standardError = err
        try process.run()
        process.waitUntilExit()
        let outData = try Data(contentsOf: URL(fileURLWithPath: outPath))
        let errData = try Data(contentsOf: URL(fileURLWithPath: errPath))
        return Run(
            status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self))
    }

    /// This process's environment without what Open MPI put there: the one-rank
    /// BackpropMPITests start MPI in the test process, which sets OMPI_/PMIX_ variables that
    /// would make a child program (or `mpirun`) believe it is already part of that job.
    static func environmentWithoutMPI() -> [String: String] {
        ProcessInfo.processInfo.environment.filter { key, _ in
            !["OMPI_", "PMIX_", "OPAL_", "PRTE_"].contains { key.hasPrefix($0) }
        }
    }

    /// Asserts the status and that standard error contains each of `texts`.
    func assertFails(_ run: Run, status: Int32, _ texts: String..., file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(run.status, status, "stderr:\n\(run.stderr)\nstdout:\n\(run.stdout)", file: file, line: line)
        for text in texts {
            XCTAssertTrue(run.stderr.contains(text), "expected '\(text)' in stderr:\n\(run.stderr)", file: file, line: line)
        }
    }

    // MARK: Data

    /// Writes a synthetic MNIST (raw IDX, no gzip) of `train` and `test` images of
    /// `side`×`side` into `name` under the temporary folder, and returns its path.
    @discardableResult
    func writeMNIST(_ name: String = "mnist", train: Int = 64, test: Int = 32, side: Int = 28, skip: Set<String> = []) throws -> String {
        let directory = (folder as NSString).appendingPathComponent(name)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        func bigEndian(_ values: [Int]) -> [UInt8] { values.flatMap { v in (0..<4).reversed().map { UInt8((v >> (8 * $0)) & 0xff) } } }
        for (split, count) in [("train", train), ("t10k", test)] {
            var state: UInt32 = 12345
            let pixels = (0..<(count * side * side)).map { _ -> UInt8 in
                state = state &* 1_103_515_245 &+ 12345
                return UInt8(truncatingIfNeeded: state >> 24)
            }
            let images = bigEndian([0x803, count, side, side]) + pixels
            let labels = bigEndian([0x801, count]) + (0..<count).map { UInt8($0 % 10) }
            for (file, bytes) in [("\(split)-images-idx3-ubyte", images), ("\(split)-labels-idx1-ubyte", labels)] where !skip.contains(file)
            {
                try Data(bytes).write(to: URL(fileURLWithPath: (directory as NSString).appendingPathComponent(file)))
            }
        }
        return directory
    }

    /// A small mnist-mlp run: one epoch, 16 hidden units.
    let mlp = ["--epochs", "1", "--hidden", "16", "--threads", "1"]

    func path(_ name: String) -> String { (folder as NSString).appendingPathComponent(name) }

    /// A file standing for an earlier, valuable model.
    func writeOldModel(_ name: String = "old.safetensors") throws -> (path: String, bytes: Data) {
        let bytes = Data("an earlier model".utf8)
        try bytes.write(to: URL(fileURLWithPath: path(name)))
        return (path(name), bytes)
    }

    // MARK: Data location

    func testExplicitDataFolderIsUsedExactly() throws {
        try writeMNIST("good")
        let partial = try writeMNIST("partial", skip: ["t10k-labels-idx1-ubyte"])
        // a good MNIST in $MNIST_DIR must not stand in for an incomplete --data
        let result = try run("mnist-mlp", mlp + ["--data", partial], environment: ["MNIST_DIR": path("good")])
        assertFails(result, status: 2, "--data \(partial)", "missing t10k-labels-idx1-ubyte")
        XCTAssertFalse(result.stderr.contains("train-labels-idx1-ubyte[.gz]"), "only the missing file is named: \(result.stderr)")
        assertFails(
            try run("mnist-mlp", mlp + ["--data", path("nowhere")]), status: 2, "--data \(path("nowhere")): the folder does not exist")
    }

    func testFallbackFolderIsPrinted() throws {
        let directory = try writeMNIST()
        let result = try run("mnist-mlp", mlp, environment: ["MNIST_DIR": directory])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(
            result.stdout.contains("MNIST from \(directory) ($MNIST_DIR): train-images-idx3-ubyte, train-labels-idx1-ubyte"), result.stdout)
        let none = try run("mnist-mlp", mlp)
        assertFails(none, status: 1, "MNIST was not found", "Data/mnist: missing train-images-idx3-ubyte[.gz]")
    }

    func testEmptyTestSetIsRefused() throws {
        let directory = try writeMNIST(test: 0)
        let result = try run("mnist-mlp", mlp + ["--data", directory])
        assertFails(result, status: 1, "t10k-images-idx3-ubyte", "the t10k split is empty")
        XCTAssertFalse(result.stdout.contains("test accuracy 0.00"), result.stdout)
    }

    // MARK: Outputs, checked before training

    func testBadOutputPathsFailBeforeTrainingAndKeepTheOldModel() throws {
        let data = try writeMNIST()
        let old = try writeOldModel()
        let cases: [([String], String)] = [
            (["--save", ""], "--save needs a non-empty value"),
            (["--save", "/dev/null"], "--save /dev/null: it is a character device, not a regular file"),
            (["--save", folder], "is a directory"),
            (
                ["--save", path("missing-folder/m.safetensors")],
                "--save \(path("missing-folder/m.safetensors")): the folder \(path("missing-folder")) does not exist"
            ),
            (
                ["--save", old.path, "--predictions", path("old.safetensors/p")],
                "--predictions \(path("old.safetensors/p")): \(old.path) is not a folder"
            ),
            (
                ["--save", old.path, "--checkpoint-dir", path("old.safetensors/ckpt")],
                "--checkpoint-dir \(path("old.safetensors/ckpt")): '\(old.path)' exists and is not a directory"
            )
        ]
        for (arguments, message) in cases {
            let result = try run("mnist-mlp", mlp + ["--data", data] + arguments)
            assertFails(result, status: 2, message)
            XCTAssertFalse(result.stdout.contains("epoch 1/1"), "\(arguments) trained before failing:\n\(result.stdout)")
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: old.path)), old.bytes, "\(arguments) changed \(old.path)")
        }
        assertFails(
            try run("autoencoder", ["--data", data, "--out", path("old.safetensors/figures")]), status: 2,
            "--out \(path("old.safetensors/figures")): '\(old.path)' exists and is not a directory")
    }

    func testFailedFigureStillSavesTheModel() throws {
        let data = try writeMNIST()
        // the figure's name is taken by a folder: the figure cannot be written, the model can
        try FileManager.default.createDirectory(atPath: path("figures/autoencoder-plain-filters.png"), withIntermediateDirectories: true)
        let result = try run(
            "autoencoder",
            [
                "--data", data, "--kind", "plain", "--hidden", "8", "--epochs", "1", "--threads", "1",
                "--out", path("figures"), "--save", path("ae.safetensors")
            ])
        assertFails(result, status: 1, "figure \(path("figures/autoencoder-plain-filters.png")) not written", "could not be written")
        XCTAssertTrue(result.stdout.contains("saved the model to \(path("ae.safetensors"))"), result.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("ae.safetensors")))
        XCTAssertTrue(
            FileManager.default.fileExists(atPath: path("figures/autoencoder-plain-reconstructions.png")), "the other figure is still drawn"
        )
    }

    func testFailedCheckpointIsReportedAndTrainingGoesOn() throws {
        let data = try writeMNIST()
        try FileManager.default.createDirectory(atPath: path("ckpt/epoch-001.safetensors"), withIntermediateDirectories: true)
        let result = try run(
            "mnist-mlp", mlp + ["--epochs", "2", "--data", data, "--checkpoint-dir", path("ckpt"), "--save", path("m.safetensors")])
        assertFails(result, status: 1, "checkpoint not written (training goes on)")
        XCTAssertTrue(result.stdout.contains("epoch 2/2"), result.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("ckpt/epoch-002.safetensors")))
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("m.safetensors")))
    }

    func testSmallImagesDoNotCrashTheFigures() throws {
        let data = try writeMNIST(side: 8)
        let result = try run(
            "stacked-autoencoder",
            [
                "--data", data, "--sizes", "64,16", "--pretrain-epochs", "1", "--epochs", "1",
                "--threads", "1", "--out", path("figures")
            ])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("figures/stacked-autoencoder-filters.png")))
        let odd = try writeMNIST("odd", side: 28) // and a wrong --sizes is a message, not a crash
        assertFails(
            try run("stacked-autoencoder", ["--data", odd, "--sizes", "64,16"]), status: 1, "--sizes must start with the image size 784")
    }

    // MARK: Options

    func testBadOptionsExitWithStatus2NamingTheOption() throws {
        let data = try writeMNIST()
        let cases: [(String, [String], String)] = [
            ("mnist-mlp", ["--seed", "-1"], "--seed must be a non-negative integer, got -1"),
            ("mnist-mlp", ["--hidden", "32,,10"], "--hidden '32,,10': item 2 is empty"),
            ("mnist-mlp", ["--hidden", "100000000000"], "--hidden: every size must be in"),
            ("mnist-mlp", ["--hidden", "100000,100000"], "--hidden asks for a model of 1.01e+10 parameters"),
            ("mnist-mlp", ["--lr", "inf"], "--lr expects a finite number, got 'inf'"),
            ("mnist-convnet", ["--batch", "0"], "--batch must be in 1...65536"),
            ("mnist-resnet", ["--batch", "1"], "--batch must be at least 2: batch normalization"),
            ("mnist-resnet", ["--shift", "9"], "--shift must be in 0...8"),
            ("sequential-mnist", ["--epochs", "99999999999"], "--epochs must be in 1...1000000"),
            ("vae", ["--latent", "-3"], "--latent must be in"),
            ("autoencoder", ["--noise", "nan"], "--noise expects a finite number"),
            ("deep-autoencoder", ["--threads", "0"], "--threads must be in 1...1024"),
            ("stacked-autoencoder", ["--sizes", "784,,10"], "--sizes '784,,10': item 2 is empty"),
            ("char-lstm", ["--steps", "-5"], "--steps must be in"),
            ("backprop-bench", ["--seconds", "inf"], "--seconds expects a finite number"),
            ("backprop-bench", ["nosuchworkload"], "unknown workload 'nosuchworkload'")
        ]
        for (program, arguments, message) in cases {
            assertFails(try run(program, ["--data", data] + arguments), status: 2, message)
        }
    }

    // MARK: mnist-resnet

    /// The ResNet's file holds BatchNorm's buffers under PyTorch's names (as the PyTorch
    /// twin of Scripts/torch-roundtrip.py expects), and `--load` restores them: the loaded
    /// model's test scores are the trained one's, bit for bit (with the initial running
    /// statistics, 0 and 1, they would not be).
    func testResNetSavesAndLoadsBatchNormStatistics() throws {
        let data = try writeMNIST(train: 16, test: 8)
        let common = ["--data", data, "--batch", "8", "--threads", "1"]
        let trained = try run(
            "mnist-resnet",
            common + [
                "--epochs", "1", "--shift", "1", "--save", path("r.safetensors"),
                "--predictions", path("trained.safetensors")
            ])
        XCTAssertEqual(trained.status, 0, trained.stderr)
        let file = try SafeTensors(contentsOf: path("r.safetensors"))
        for name in [
            "0.weight", "1.running_var", "3.body.0.weight", "3.body.4.running_mean", "7.shortcut.0.weight",
            "11.shortcut.1.bias", "13.body.4.weight", "17.weight", "17.bias"
        ] {
            XCTAssertTrue(file.contains(name), "\(name) missing from \(file.names)")
        }
        XCTAssertFalse(file.contains("0.bias"), "the convolutions have no bias")
        XCTAssertEqual(file.names.count, 92, "\(file.names)") // as PyTorch's state_dict of the twin
        XCTAssertEqual(try file.integers("7.shortcut.1.num_batches_tracked"), [2]) // 16 images in batches of 8
        XCTAssertNotEqual(try file.tensor("1.running_mean", as: Float.self).scalars, [Float](repeating: 0, count: 16))

        let loaded = try run("mnist-resnet", common + ["--load", path("r.safetensors"), "--predictions", path("loaded.safetensors")])
        XCTAssertEqual(loaded.status, 0, loaded.stderr)
        let scores = try [path("trained.safetensors"), path("loaded.safetensors")].map {
            try SafeTensors(contentsOf: $0).tensor("scores", as: Float.self)
        }
        XCTAssertEqual(scores[0].shape, [8, 10])
        XCTAssertEqual(scores[0].scalars, scores[1].scalars, "the loaded model's test scores differ from the trained model's")
    }

    // MARK: Divergence and resumption

    func testDivergenceStopsWithoutSavingUnlessAsked() throws {
        let data = try writeMNIST()
        let old = try writeOldModel()
        let diverging = mlp + ["--epochs", "3", "--data", data, "--lr", "1e20", "--save", old.path]
        let result = try run("mnist-mlp", diverging)
        assertFails(
            result, status: 1, "training diverged: the loss is", "epoch", "step", "the learning rate --lr 1e+20 is probably too high",
            "--save-anyway")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: old.path)), old.bytes, "a diverged model replaced \(old.path)")

        let anyway = try run("mnist-mlp", diverging + ["--save-anyway"])
        assertFails(anyway, status: 1, "training diverged")
        XCTAssertNotEqual(try Data(contentsOf: URL(fileURLWithPath: old.path)), old.bytes, "--save-anyway saves")
    }

    func testAbsurdCheckpointCountersAreRefused() throws {
        let data = try writeMNIST()
        // the model and optimizer of `mnist-mlp --hidden 16`, with counters near Int.max
        let model = Sequential<Float> {
            Linear<Float>(784, 16); ReLU<Float>(); Linear<Float>(16, 10)
        }
        let optimizer = SGD(model.parameters, learningRate: 0.05, momentum: 0.9)
        let state = TrainingState(epoch: 1, step: 1, generators: ["shuffle": Random(seed: 2)])
        var file = Checkpoint.file(model: model, optimizer: optimizer, state: state)
        file.metadata["epoch"] = String(Int.max - 1) // as a damaged or hand-edited file would say
        try file.write(to: path("absurd.safetensors"))
        let result = try run("mnist-mlp", mlp + ["--data", data, "--resume", path("absurd.safetensors")])
        assertFails(result, status: 1, "cannot resume from \(path("absurd.safetensors"))", "'epoch' is '\(Int.max - 1)'")
    }

    // MARK: char-lstm

    func testTextTooShortForTheWindows() throws {
        let text = String(repeating: "To be, or not to be: that is the question. ", count: 70).prefix(3000)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path("short.txt")))
        let result = try run("char-lstm", ["--text", path("short.txt"), "--steps", "1"])
        assertFails(
            result, status: 1, "is too short for these options: it has 3000 characters",
            "--batch 32 streams of --seq 100 characters need 3201 training characters")
        assertFails(
            try run("char-lstm", ["--text", path("nothing.txt")]), status: 2,
            "--text: cannot open '\(path("nothing.txt"))': No such file or directory")
    }

    // MARK: word2vec

    func testWord2VecHelpOptionsAndTinyRun() throws {
        let help = try run("word2vec", ["--help"])
        XCTAssertEqual(help.status, 0, help.stderr)
        for option in ["--text", "--dim", "--window", "--negative", "--min-count", "--sample", "--threads", "--out"] {
            XCTAssertTrue((help.stdout + help.stderr).contains(option), "--help does not show \(option)")
        }
        assertFails(try run("word2vec", ["--lr", "0.01", "--min-lr", "0.1"]), status: 2, "--min-lr must not exceed --lr")
        assertFails(try run("word2vec", ["--text", path("nothing.txt")]), status: 2, "--text: cannot open")
        // a small made-up language: animals and their verbs, so that neighbours mean something
        var rng = Random(seed: 3)
        let (animals, verbs) = (["cat", "dog", "horse", "cow"], ["runs", "eats", "sleeps"])
        var text = ""
        for _ in 0..<1500 {
            text += "the \(animals[Int(rng.next() % 4)]) \(verbs[Int(rng.next() % 3)]) and the king's men sing. "
        }
        try Data(text.utf8).write(to: URL(fileURLWithPath: path("words.txt")))
        let result = try run(
            "word2vec",
            [
                "--text", path("words.txt"), "--epochs", "1", "--dim", "8", "--threads", "2",
                "--words", "cat,zebra", "--out", path("w2v")
            ])
        XCTAssertEqual(result.status, 0, result.stderr + result.stdout)
        XCTAssertTrue(result.stdout.contains("12 words seen at least 5 times"), result.stdout)
        XCTAssertTrue(result.stdout.contains("zebra: not in the vocabulary"), result.stdout)
        XCTAssertTrue(result.stdout.contains("  cat (") && result.stdout.contains("words/s"), result.stdout)
        let vectors = try String(contentsOfFile: path("w2v/word2vec.txt"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(vectors.first, "12 8")
        XCTAssertEqual(vectors.count, 13)
        XCTAssertEqual(vectors[1].split(separator: " ").count, 9)
        XCTAssertEqual(try SafeTensors(contentsOf: path("w2v/word2vec.safetensors")).names.sorted(), ["counts", "input", "output"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("w2v/word2vec-pca.svg")))
    }

    // MARK: Real MNIST

    /// The real MNIST folder (`$MNIST_DIR`, else `../shared/data/mnist` next to the checkout).
    /// Skips the test when absent, but fails it when `CI=true`.
    func requireRealMNIST(file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let env = ProcessInfo.processInfo.environment
        let checkout = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let shared = checkout.deletingLastPathComponent().appendingPathComponent("shared/data/mnist").path
        let candidates = [env["MNIST_DIR"], shared].compactMap { $0 }
        if let found = candidates.first(where: { MNIST<Float>.isPresent(in: $0) }) { return found }
        let message = "MNIST not found (looked in \(candidates)); set MNIST_DIR or run Scripts/download-mnist.sh"
        if env["CI"] == "true" { XCTFail("CI=true but " + message, file: file, line: line) }
        throw XCTSkip(message)
    }

    func testRealMNISTFolderAndFilesArePrinted() throws {
        let directory = try requireRealMNIST()
        // a model file given to --resume: the data is read (and reported), then refused
        let model = Sequential<Float> {
            Linear<Float>(784, 16); ReLU<Float>(); Linear<Float>(16, 10)
        }
        try model.save(to: path("model.safetensors"))
        let result = try run("mnist-mlp", mlp + ["--data", directory, "--resume", path("model.safetensors")])
        assertFails(result, status: 1, "is a model file, not a training checkpoint")
        XCTAssertTrue(result.stdout.contains("MNIST from \(directory): train-images-idx3-ubyte"), result.stdout)
    }
}
