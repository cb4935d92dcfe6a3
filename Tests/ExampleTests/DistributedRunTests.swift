// mnist-mlp and mnist-convnet --distributed: alone (a world of one, no mpirun) exactly the
// single-process run; under `mpirun -np 2` (when Open MPI is installed) the same model as
// one process on the same global batches, with one rank printing and writing.
import Backprop
import Foundation
import XCTest

extension ExampleRunTests {
    /// `mpirun` on the PATH, or nil.
    static let mpirun: String? = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
        .map { "\($0)/mpirun" }.first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Runs example `name` on `ranks` ranks under mpirun (as root too, two ranks on any core
    /// count) in the temporary folder; skips the test without Open MPI or the example.
    func runOnRanks(_ ranks: Int, _ name: String, _ arguments: [String]) throws -> Run {
        guard let mpirun = Self.mpirun else { throw XCTSkip("mpirun is not installed (Scripts/install-deps.sh --mpi)") }
        let executable = (Self.buildFolder as NSString).appendingPathComponent(name)
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw XCTSkip("\(name) is not built in \(Self.buildFolder): run `swift build --build-tests` first")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: mpirun)
        process.arguments = ["-np", "\(ranks)", "--oversubscribe", "--allow-run-as-root", executable] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: path("."))
        var environment = ExampleRunTests.environmentWithoutMPI()
        environment["MNIST_DIR"] = nil
        environment["SWIFT_BACKTRACE"] = "enable=no"
        process.environment = environment
        let outPath = path("mpirun-stdout.txt"), errPath = path("mpirun-stderr.txt")
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath)),
            err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        defer { try? out.close(); try? err.close() }
        (process.standardOutput, process.standardError) = (out, err)
        try process.run()
        process.waitUntilExit()
        return Run(
            status: process.terminationStatus,
            stdout: String(decoding: try Data(contentsOf: URL(fileURLWithPath: outPath)), as: UTF8.self),
            stderr: String(decoding: try Data(contentsOf: URL(fileURLWithPath: errPath)), as: UTF8.self))
    }

    /// The tensors of a safetensors file, by name.
    func tensors(_ path: String) throws -> [String: [Float]] {
        let file = try SafeTensors(contentsOf: path)
        var result: [String: [Float]] = [:]
        for name in file.names { result[name] = try file.tensor(name, as: Float.self).scalars }
        return result
    }

    func testDistributedAloneIsTheSingleProcessRun() throws {
        let data = try writeMNIST()
        let plain = try run("mnist-mlp", mlp + ["--batch", "16", "--data", data, "--save", path("plain.safetensors")])
        XCTAssertEqual(plain.status, 0, plain.stderr)
        let alone = try run("mnist-mlp", mlp + ["--batch", "16", "--data", data, "--save", path("alone.safetensors"), "--distributed"])
        XCTAssertEqual(alone.status, 0, alone.stderr)
        XCTAssertTrue(alone.stdout.contains("distributed: 1 ranks, global batch 16"), alone.stdout)
        XCTAssertEqual(try tensors(path("alone.safetensors")), try tensors(path("plain.safetensors")))
    }

    func testDistributedOnTwoRanksTrainsTheSameModelAndRankZeroWrites() throws {
        let data = try writeMNIST()
        let options = ["--epochs", "2", "--hidden", "16", "--threads", "1", "--batch", "16", "--data", data]
        let plain = try run("mnist-mlp", options + ["--save", path("plain.safetensors")])
        XCTAssertEqual(plain.status, 0, plain.stderr)
        let two = try runOnRanks(
            2, "mnist-mlp", options + ["--distributed", "--save", path("two.safetensors"), "--checkpoint-dir", path("ckpt")])
        XCTAssertEqual(two.status, 0, two.stderr + two.stdout)
        XCTAssertEqual(
            two.stdout.components(separatedBy: "distributed: 2 ranks, global batch 16 (about 8 per rank)").count, 2,
            "one rank prints:\n\(two.stdout)")
        XCTAssertEqual(two.stdout.components(separatedBy: "saved the model").count, 2, two.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("ckpt/epoch-002.safetensors")))
        // 8 steps of a global batch of 16 split 8 + 8: the single process's model, to rounding
        let a = try tensors(path("two.safetensors")), b = try tensors(path("plain.safetensors"))
        XCTAssertEqual(a.keys.sorted(), b.keys.sorted())
        for (name, values) in b {
            let diff = zip(a[name]!, values).map { abs($0 - $1) }.max()!, norm = values.map(abs).max()!
            XCTAssertLessThanOrEqual(diff, 1e-5 * norm, name)
        }
    }

    func testDistributedRefusesBatchesSmallerThanTheRanks() throws {
        let data = try writeMNIST(train: 65) // the last batch of 16 has 1 example
        let result = try runOnRanks(2, "mnist-mlp", mlp + ["--batch", "16", "--data", data, "--distributed"])
        XCTAssertEqual(result.status, 2, result.stderr)
        XCTAssertTrue(
            result.stderr.contains("--distributed on 2 ranks: --batch 16 gives a batch of 1 examples, fewer than the ranks"), result.stderr)
    }

    func testConvnetHasDistributed() throws {
        let help = try run("mnist-convnet", ["--help"])
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue((help.stdout + help.stderr).contains("--distributed "), help.stdout + help.stderr)
    }
}
