import Backprop
import Foundation
import XCTest

/// Checkpoint metadata that is missing, not a number, negative or absurdly large: each
/// throws a `CheckpointError` naming the field and its value, and changes nothing.
final class CheckpointMetadataTests: XCTestCase {
    func model() -> Sequential<Float> {
        var rng = Random(seed: 3)
        return Sequential<Float>().add(Linear<Float>(3, 2, using: &rng))
    }

    func checkpoint<O: CheckpointableOptimizer>(_ optimizer: O, _ model: Sequential<Float>) -> SafeTensors where O.Scalar == Float {
        Checkpoint.file(model: model, optimizer: optimizer, state: TrainingState(epoch: 2, step: 7))
    }

    func problem(_ body: () throws -> Any) -> String {
        do { _ = try body(); return "no error" } catch { return "\(error)" }
    }

    func testCountsMustBeWholeNonNegativeAndAtMost2To53() throws {
        let net = model()
        var file = checkpoint(SGD(net.parameters, learningRate: 0.1), net)
        XCTAssertEqual(try Checkpoint.state(of: file).epoch, 2)
        let cases: [(String, String?, String)] = [
            (
                "epoch", String(Int.max),
                "the metadata 'epoch' is '9223372036854775807', more than the largest count a checkpoint holds (2^53 = 9007199254740992)"
            ),
            (
                "epoch", String(1 << 53 + 1),
                "the metadata 'epoch' is '9007199254740993', more than the largest count a checkpoint holds (2^53 = 9007199254740992)"
            ),
            ("epoch", "99999999999999999999999", "the metadata 'epoch' is '99999999999999999999999', not a whole number"),
            ("step", "-1", "the metadata 'step' is '-1', a negative count"),
            ("step", "3.5", "the metadata 'step' is '3.5', not a whole number"),
            ("step", " 7", "the metadata 'step' is ' 7', not a whole number"),
            ("epoch", nil, "the metadata 'epoch' is missing")
        ]
        for (key, value, message) in cases {
            var changed = file
            changed.metadata[key] = value
            XCTAssertEqual(problem { try Checkpoint.state(of: changed) }, "<memory>: " + message)
        }
        file.metadata["epoch"] = String(1 << 53)
        XCTAssertEqual(try Checkpoint.state(of: file).epoch, 1 << 53, "2^53 itself is allowed")
    }

    func testOptimizerCountsAreCheckedBeforeAnythingChanges() throws {
        let net = model(), before = net.namedParameters.map(\.parameter.value.scalars)
        let sgd = SGD(net.parameters, learningRate: 0.1)
        var file = checkpoint(sgd, net)
        file.metadata["optimizer.epoch"] = "-5"
        let other = model()
        for (_, p) in other.namedParameters { p.value = p.value * 2 }
        let otherBefore = other.namedParameters.map(\.parameter.value.scalars)
        XCTAssertEqual(
            problem { try Checkpoint.restore(model: other, optimizer: SGD(other.parameters, learningRate: 0.1), from: file) },
            "<memory>: the metadata 'optimizer.epoch' is '-5', a negative count")
        XCTAssertEqual(other.namedParameters.map(\.parameter.value.scalars), otherBefore, "nothing changed")

        let adam = Adam(net.parameters)
        var adamFile = checkpoint(adam, net)
        XCTAssertNotNil(adamFile.metadata["optimizer.step"])
        adamFile.metadata["optimizer.step"] = String(Int.max)
        XCTAssertEqual(
            problem { try Checkpoint.restore(model: other, optimizer: Adam(other.parameters), from: adamFile) },
            "<memory>: the metadata 'optimizer.step' is '\(Int.max)', more than the largest count a checkpoint holds (2^53 = 9007199254740992)"
        )
        XCTAssertEqual(net.namedParameters.map(\.parameter.value.scalars), before)
    }

    func testVersionAndGeneratorFieldsNameTheirValue() throws {
        let net = model()
        var file = checkpoint(SGD(net.parameters, learningRate: 0.1), net)
        file.metadata[Checkpoint.versionKey] = "2"
        XCTAssertEqual(
            problem { try Checkpoint.state(of: file) }, "<memory>: checkpoint version '2' is not supported (this library writes version 1)")
        file.metadata[Checkpoint.versionKey] = "1"
        file.metadata["random.shuffle"] = "1,2,3"
        XCTAssertEqual(
            problem { try Checkpoint.state(of: file) },
            "<memory>: the metadata 'random.shuffle' = '1,2,3' is not a generator state (four 64-bit hex words, not all zero)")
    }

    func testShapeMismatchesNameTheParameterAndBothShapes() throws {
        let net = model()
        let file = checkpoint(SGD(net.parameters, learningRate: 0.1), net)
        var rng = Random(seed: 1)
        let wider = Sequential<Float>().add(Linear<Float>(4, 2, using: &rng))
        let message = problem { try Checkpoint.restore(model: wider, optimizer: SGD(wider.parameters, learningRate: 0.1), from: file) }
        XCTAssertTrue(message.contains("shape mismatch: model.0.weight: model [2, 4], file [2, 3]"), message)
    }
}
