// The digit classifiers' validation split, early stopping, augmentation and regularized
// recipe, run as programs on a tiny synthetic MNIST (see ExampleRunTests).
import Foundation
import XCTest

extension ExampleRunTests {
    func testValidationAndEarlyStoppingOptionsInHelp() throws {
        for name in ["mnist-mlp", "mnist-convnet"] {
            let help = try run(name, ["--help"])
            XCTAssertEqual(help.status, 0, help.stderr)
            for option in ["--validation", "--early-stopping", "--augment"] {
                XCTAssert(help.stdout.contains(option), "\(name): \(option) in\n\(help.stdout)")
            }
        }
        XCTAssert(try run("mnist-mlp", ["--help"]).stdout.contains("--recipe"))
    }

    func testValidationOptionsAreCheckedUpFront() throws {
        let data = try writeMNIST()
        assertFails(
            try run("mnist-mlp", mlp + ["--data", data, "--early-stopping", "2"]), status: 2,
            "--early-stopping 2 needs a validation set: give --validation N")
        assertFails(
            try run("mnist-mlp", mlp + ["--data", data, "--validation", "64"]), status: 2,
            "--validation 64 must be less than the 64 training digits")
        assertFails(
            try run("mnist-mlp", mlp + ["--data", data, "--recipe", "strong"]), status: 2,
            "--recipe expects plain or regularized, got 'strong'")
        assertFails(try run("mnist-convnet", ["--data", data, "--validation", "-3"]), status: 2, "--validation must be in 0...")
    }

    func testMLPWithValidationEarlyStoppingAndAugmentation() throws {
        let data = try writeMNIST()
        let result = try run(
            "mnist-mlp", mlp + ["--data", data, "--epochs", "4", "--validation", "16", "--early-stopping", "1", "--augment"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssert(result.stdout.contains("16 of the 64 training digits held out (stratified), 48 left to train on"), result.stdout)
        XCTAssert(result.stdout.contains("validation loss "), result.stdout)
        XCTAssert(result.stdout.contains("early stopping: "), result.stdout)
        XCTAssert(result.stdout.contains("samples/s"), result.stdout)
    }

    func testRegularizedRecipeRuns() throws {
        let data = try writeMNIST()
        let result = try run(
            "mnist-mlp",
            [
                "--data", data, "--recipe", "regularized", "--hidden", "16,16", "--epochs", "2",
                "--validation", "10", "--threads", "1", "--save", path("reg.safetensors")
            ])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssert(result.stdout.contains("Dropout(0.3)") && result.stdout.contains("Dropout(0.1)"), result.stdout)
        XCTAssert(result.stdout.contains("validation loss "), result.stdout)
        XCTAssert(FileManager.default.fileExists(atPath: path("reg.safetensors")))
        // the saved model loads into the same recipe
        let load = try run("mnist-mlp", ["--data", data, "--recipe", "regularized", "--hidden", "16,16", "--load", path("reg.safetensors")])
        XCTAssertEqual(load.status, 0, load.stderr)
    }

    func testConvnetWithAugmentationAndValidation() throws {
        let data = try writeMNIST()
        let result = try run(
            "mnist-convnet",
            [
                "--data", data, "--epochs", "1", "--augment", "--validation", "10", "--early-stopping", "1",
                "--threads", "1", "--out", path(".")
            ])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssert(result.stdout.contains("validation loss "), result.stdout)
        XCTAssert(result.stdout.contains("early stopping: restored the weights of epoch 1"), result.stdout)
    }
}
