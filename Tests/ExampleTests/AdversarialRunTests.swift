// The adversarial example run as a program: --help, bad options, and a tiny run of both
// trainings on the synthetic MNIST that saves both models and loads them back.
import Backprop
import Foundation
import XCTest

extension ExampleRunTests {
    func testAdversarialHelpListsItsOptions() throws {
        let result = try run("adversarial", ["--help"])
        XCTAssertEqual(result.status, 0, result.stderr)
        for option in [
            "--model", "--epochs", "--adv-epochs", "--alpha", "--train-epsilon", "--epsilons", "--load", "--save",
            "--load-adversarial", "--save-adversarial", "--out"
        ] {
            XCTAssertTrue(result.stdout.contains(option), "\(option) missing from --help:\n\(result.stdout)")
        }
    }

    func testAdversarialRefusesBadOptions() throws {
        let data = try writeMNIST(train: 16, test: 8)
        let cases: [([String], String)] = [
            (["--model", "resnet"], "--model must be convnet or mlp, got 'resnet'"),
            (["--epsilons", "0,0.1,x"], "--epsilons must be a comma-separated list of numbers in [0, 1]"),
            (["--epsilons", "0,2"], "--epsilons must be a comma-separated list of numbers in [0, 1]"),
            (["--alpha", "1.5"], "--alpha must be in [0, 1]"),
            (["--train-epsilon", "-0.1"], "--train-epsilon must be in [0, 1]"),
            (["--load-adversarial", path("missing.safetensors")], "--load-adversarial"),
            (["--hidden", "32"], "--hidden is for --model mlp"),
            (["--frobnicate"], "unknown option --frobnicate")
        ]
        for (arguments, message) in cases {
            assertFails(try run("adversarial", ["--data", data] + arguments), status: 2, message)
        }
    }

    /// One epoch of each training on 32 synthetic digits, for both models: the table and the
    /// captions are printed, the two pictures written, and both models saved; loading them
    /// back (no training) gives the same table.
    func testAdversarialTinyRunSavesAndLoadsBothModels() throws {
        let data = try writeMNIST(train: 32, test: 16)
        for model in ["convnet", "mlp"] {
            let common =
                ["--data", data, "--model", model, "--batch", "16", "--threads", "1", "--examples", "4", "--out", path("figures")]
                + (model == "mlp" ? ["--hidden", "16,8"] : [])
            let plainPath = path("\(model)-plain.safetensors"), robustPath = path("\(model)-robust.safetensors")
            let trained = try run(
                "adversarial",
                common + [
                    "--epochs", "1", "--adv-epochs", "1",
                    "--save", plainPath, "--save-adversarial", robustPath
                ])
            XCTAssertEqual(trained.status, 0, "\(model): \(trained.stderr)")
            XCTAssertTrue(trained.stdout.contains("Test accuracy under FGSM"), trained.stdout)
            XCTAssertTrue(trained.stdout.contains("adversarial epoch 1/1"), trained.stdout)
            for name in ["adversarial-plain.png", "adversarial-trained.png"] {
                XCTAssertTrue(FileManager.default.fileExists(atPath: path("figures/\(name)")), "\(model): \(name) not written")
            }
            let weight = model == "convnet" ? "0.weight" : "4.weight"
            XCTAssertTrue(try SafeTensors(contentsOf: plainPath).contains(weight), "\(model): the plain model's file lacks \(weight)")
            XCTAssertTrue(try SafeTensors(contentsOf: robustPath).contains(weight), "\(model): the robust model's file lacks \(weight)")

            let loaded = try run("adversarial", common + ["--load", plainPath, "--load-adversarial", robustPath])
            XCTAssertEqual(loaded.status, 0, "\(model): \(loaded.stderr)")
            XCTAssertFalse(loaded.stdout.contains("epoch 1/"), "\(model): --load and --load-adversarial should skip both trainings")
            func table(_ output: String) -> [Substring] {
                output.split(separator: "\n").filter { $0.contains("%") && $0.contains("|") }
            }
            XCTAssertEqual(table(loaded.stdout).count, 6, loaded.stdout)
            XCTAssertEqual(table(loaded.stdout), table(trained.stdout), "\(model): the loaded models give another table")
        }
    }
}
