@testable import Backprop
import Foundation
import XCTest

/// Malformed MNIST folders: missing files, labels out of range, empty splits, images of no
/// pixels, count and size mismatches each throw a `DataError` naming the file and values.
final class MNISTTests: XCTestCase {
    var directory: String!

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "backprop-mnist-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

    /// Writes an IDX file `name` of the folder: uint8 (or int32 with `int32`) elements.
    @discardableResult
    func write(_ name: String, shape: [Int], _ values: [Int], int32: Bool = false) -> String {
        var bytes: [UInt8] = [0, 0, int32 ? 0x0C : 0x08, UInt8(shape.count)]
        for d in shape + (int32 ? values : []) {
            bytes += [
                UInt8(truncatingIfNeeded: d >> 24), UInt8(truncatingIfNeeded: d >> 16), UInt8(truncatingIfNeeded: d >> 8),
                UInt8(truncatingIfNeeded: d)
            ]
        }
        if !int32 { bytes += values.map { UInt8($0) } }
        let path = directory + "/" + name
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }

    /// A valid folder: 3 training and 2 test images of 2×2 pixels.
    func writeValidSet() {
        write("train-images-idx3-ubyte", shape: [3, 2, 2], Array(0..<12))
        write("train-labels-idx1-ubyte", shape: [3], [0, 9, 4])
        write("t10k-images-idx3-ubyte", shape: [2, 2, 2], Array(0..<8))
        write("t10k-labels-idx1-ubyte", shape: [2], [1, 2])
    }

    func problem(_ body: () throws -> Any) -> String {
        do { _ = try body(); return "no error" } catch { return "\(error)" }
    }

    func load(classes: Int = 10) -> String { problem { try MNIST<Float>(directory: directory, classes: classes) } }

    func testMissingFilesAreAllNamedWithTheFolder() throws {
        XCTAssertEqual(MNIST<Float>.missingFiles(in: directory), MNIST<Float>.fileNames)
        writeValidSet()
        XCTAssertEqual(MNIST<Float>.missingFiles(in: directory), [])
        XCTAssertEqual(load(), "no error")
        try FileManager.default.removeItem(atPath: directory + "/train-labels-idx1-ubyte")
        try FileManager.default.removeItem(atPath: directory + "/t10k-images-idx3-ubyte")
        // a .gz name counts as present
        try FileManager.default.moveItem(atPath: directory + "/t10k-labels-idx1-ubyte", toPath: directory + "/t10k-labels-idx1-ubyte.gz")
        XCTAssertEqual(MNIST<Float>.missingFiles(in: directory), ["train-labels-idx1-ubyte", "t10k-images-idx3-ubyte"])
        XCTAssertFalse(MNIST<Float>.isPresent(in: directory))
        XCTAssertThrowsError(try MNIST<Float>(directory: directory)) { XCTAssertEqual(($0 as? DataError)?.kind, .missingFile) }
        XCTAssertEqual(
            load(),
            "\(directory!): 2 of the 4 MNIST files are missing (each may be raw or .gz): "
                + "train-labels-idx1-ubyte[.gz]: no such file; t10k-images-idx3-ubyte[.gz]: no such file")
    }

    func testLabelsOutsideTheClassesThrowNamingFileIndexAndValue() {
        writeValidSet()
        let labels = write("train-labels-idx1-ubyte", shape: [3], [0, 200, 4])
        XCTAssertEqual(load(), "\(labels): label 200 at index 1 is outside 0..<10 (classes: 10)")
        XCTAssertThrowsError(try MNIST<Float>(directory: directory)) { XCTAssertEqual(($0 as? DataError)?.kind, .badValue) }
        XCTAssertEqual(problem { try MNIST<Float>(directory: directory, classes: 201) }.prefix(8), "no error")
        XCTAssertEqual(try MNIST<Float>(directory: directory, classes: 201).train.classCount, 201)
        // int32 labels near 2^31 and negative ones: no huge class count, an error
        write("train-labels-idx1-ubyte", shape: [3], [0, 1, 2_147_483_000], int32: true)
        XCTAssertEqual(load(), "\(labels): label 2147483000 at index 2 is outside 0..<10 (classes: 10)")
        write("train-labels-idx1-ubyte", shape: [3], [0, -3, 1], int32: true)
        XCTAssertEqual(load(), "\(labels): label -3 at index 1 is outside 0..<10 (classes: 10)")
        // 9 is the largest MNIST label: fine with the default
        writeValidSet()
        XCTAssertEqual(try MNIST<Float>(directory: directory).test.classCount, 10)
    }

    func testEmptySplitsPixellessImagesAndMismatchesAreEachNamed() {
        writeValidSet()
        let testImages = write("t10k-images-idx3-ubyte", shape: [0, 2, 2], [])
        write("t10k-labels-idx1-ubyte", shape: [0], [])
        XCTAssertEqual(load(), "\(testImages): holds no images (shape [0, 2, 2]): the t10k split is empty")

        writeValidSet()
        let trainImages = write("train-images-idx3-ubyte", shape: [3, 0, 0], [])
        XCTAssertEqual(load(), "\(trainImages): images of 0×0 pixels hold nothing (shape [3, 0, 0])")

        writeValidSet()
        let trainLabels = write("train-labels-idx1-ubyte", shape: [4], [1, 2, 3, 4])
        XCTAssertEqual(load(), "\(trainLabels): 4 labels for 3 images in \(directory!)/train-images-idx3-ubyte")

        writeValidSet()
        write("t10k-images-idx3-ubyte", shape: [2, 1, 4], Array(0..<8))
        XCTAssertEqual(load(), "\(directory!): training images are 2×2 pixels but test images are 1×4", "the same 4 features when flat")
        XCTAssertEqual(
            problem { try MNIST<Float>(directory: directory, layout: .image) },
            "\(directory!): training images are 2×2 pixels but test images are 1×4")
    }
}
