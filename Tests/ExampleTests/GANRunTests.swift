// The gan example run as a program on a tiny synthetic MNIST: --help, bad options, one
// epoch that writes the grids and both networks, and a generator loaded back.
import Backprop
import Foundation
import XCTest

extension ExampleRunTests {
    /// A tiny gan run: 16 training digits in batches of 8, 16 samples scored by a
    /// classifier trained for one epoch.
    var tinyGAN: [String] { ["--epochs", "1", "--batch", "8", "--samples", "16", "--classifier-epochs", "1", "--threads", "1"] }

    func testGANHelpListsItsOptions() throws {
        let help = try run("gan", ["--help"])
        XCTAssertEqual(help.status, 0, help.stderr)
        for option in [
            "--epochs", "--batch", "--lr", "--seed", "--threads", "--out", "--save-generator",
            "--save-discriminator", "--load-generator", "--classifier", "--samples", "--checkpoint-dir", "--save-classifier", "--no-score",
            "--init", "--real-label", "--g-steps", "--generator", "--discriminator", "--g-width", "--d-width", "--g-lr"
        ] {
            XCTAssertTrue(help.stdout.contains(option), "\(option) missing from --help:\n\(help.stdout)")
        }
    }

    func testGANBadOptionsExitWithStatus2() throws {
        let data = try writeMNIST(train: 16, test: 8)
        let missing = path("no-such-generator.safetensors")
        let cases: [([String], String)] = [
            (["--lr", "0"], "--lr must be a positive number"),
            (["--batch", "1"], "--batch must be in 2...4096"),
            (["--samples", "1"], "--samples must be in"),
            (["--load-generator", missing], "--load-generator"),
            (["--classifier", missing], "--classifier"),
            (["--load-generator", path("g.safetensors"), "--save-discriminator", path("d.safetensors")], "there is no discriminator"),
            (["--no-score", "--classifier", path("c.safetensors")], "--no-score and --classifier"),
            (["--no-score", "--save-classifier", path("c2.safetensors")], "--no-score trains no classifier"),
            (["--load-generator", path("g.safetensors"), "--checkpoint-dir", path("ck")], "--checkpoint-dir has nothing to write"),
            (["--init", "xavier"], "--init must be dcgan or pytorch"),
            (["--real-label", "0.2"], "--real-label must be in"),
            (["--g-steps", "0"], "--g-steps must be in"),
            (["--generator", "wide"], "--generator must be deep or plain, got wide"),
            (["--discriminator", "wide"], "--discriminator must be deep or plain, got wide"),
            (["--no-such-option", "1"], "no-such-option")
        ]
        try Data("x".utf8).write(to: URL(fileURLWithPath: path("g.safetensors")))
        try Data("x".utf8).write(to: URL(fileURLWithPath: path("c.safetensors")))
        for (arguments, message) in cases {
            assertFails(try run("gan", ["--data", data] + arguments), status: 2, message)
        }
        // a file that is not a generator: status 1, naming the file
        assertFails(
            try run("gan", ["--data", data, "--load-generator", path("g.safetensors"), "--no-score"]), status: 1,
            "cannot load the generator \(path("g.safetensors"))")
    }

    func testGANTrainsSavesAndLoadsItsGenerator() throws {
        let data = try writeMNIST(train: 16, test: 8)
        let trained = try run(
            "gan",
            [
                "--data", data, "--out", path("out"), "--save-generator", path("g.safetensors"),
                "--save-discriminator", path("d.safetensors"), "--save-classifier", path("c.safetensors"),
                "--checkpoint-dir", path("ck")
            ] + tinyGAN)
        XCTAssertEqual(trained.status, 0, trained.stderr)
        for figure in ["gan-epoch-001.png", "gan-samples.png"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: path("out/" + figure)), "\(figure) not written:\n\(trained.stdout)")
        }
        XCTAssertTrue(trained.stdout.contains("generated digits"), trained.stdout)
        XCTAssertTrue(trained.stdout.contains("real test digits"), trained.stdout)
        // PyTorch's names for the nn.Sequential of each network: the deep generator (its 3×3
        // convolutions at 4, 10 and 16, the transposed ones at 7 and 13) and the deep
        // discriminator (shared/bench/torch_peer.py's, with a 3×3 convolution at 5)
        let g = try SafeTensors(contentsOf: path("g.safetensors")), d = try SafeTensors(contentsOf: path("d.safetensors"))
        for name in ["0.weight", "1.running_mean", "1.num_batches_tracked", "4.weight", "5.running_var", "16.weight", "16.bias"] {
            XCTAssertTrue(g.contains(name), "\(name) missing from the generator's \(g.names)")
        }
        for name in ["0.weight", "2.weight", "3.running_mean", "5.weight", "6.running_var", "9.weight", "9.bias"] {
            XCTAssertTrue(d.contains(name), "\(name) missing from the discriminator's \(d.names)")
        }
        XCTAssertEqual(try g.tensor("4.weight", as: Float.self).shape, [128, 128, 3, 3])
        XCTAssertEqual(try g.tensor("7.weight", as: Float.self).shape, [128, 64, 4, 4])
        XCTAssertEqual(try g.tensor("13.weight", as: Float.self).shape, [64, 32, 4, 4])
        XCTAssertEqual(try g.tensor("16.weight", as: Float.self).shape, [1, 32, 3, 3])
        XCTAssertEqual(try d.tensor("5.weight", as: Float.self).shape, [128, 128, 3, 3])
        XCTAssertEqual(try d.tensor("9.weight", as: Float.self).shape, [1, 6272])
        XCTAssertEqual(try g.integers("1.num_batches_tracked"), [4]) // 16 digits in batches of 8, G run twice a round (--g-steps 2)
        for file in ["ck/generator-epoch-001.safetensors", "ck/discriminator-epoch-001.safetensors"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: path(file)), "\(file) not written:\n\(trained.stdout)")
        }
        XCTAssertTrue(try SafeTensors(contentsOf: path("c.safetensors")).contains("9.weight"), "the lecture convnet's last Linear")

        // loaded back: the same generator draws the same grid from the fixed codes, bit for bit
        let loaded = try run(
            "gan",
            [
                "--data", data, "--out", path("again"), "--load-generator", path("g.safetensors"),
                "--classifier", path("c.safetensors"), "--samples", "16", "--threads", "1"
            ])
        XCTAssertEqual(loaded.status, 0, loaded.stderr)
        XCTAssertFalse(loaded.stdout.contains("epoch 1"), "a loaded generator is not trained:\n\(loaded.stdout)")
        // and the same classifier gives the same table (the scores are in the lines after the header)
        let table = { (run: Run) in
            run.stdout.split(separator: "\n").filter { line in
                ["generated digits", "real test digits", " training digits"].contains { line.contains($0) }
            }.map(String.init)
        }
        XCTAssertEqual(table(loaded).count, 3, loaded.stdout)
        XCTAssertEqual(table(loaded), table(trained))
        XCTAssertEqual(
            try Data(contentsOf: URL(fileURLWithPath: path("again/gan-samples.png"))),
            try Data(contentsOf: URL(fileURLWithPath: path("out/gan-samples.png"))))
        // the deep generator's file is not a plain generator: a clear error, not garbage
        assertFails(
            try run("gan", ["--data", data, "--load-generator", path("g.safetensors"), "--generator", "plain", "--no-score"]),
            status: 1, "cannot load the generator")
    }
}
