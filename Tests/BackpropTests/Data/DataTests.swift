@testable import Backprop
import CZlib
import Foundation
import XCTest

final class DataTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("backprop-data-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// IDX bytes: magic (0, 0, type, rank), big-endian extents, then `payload`.
    func idx(type: UInt8, shape: [Int], payload: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = [0, 0, type, UInt8(shape.count)]
        for d in shape { bytes += [UInt8(d >> 24 & 0xFF), UInt8(d >> 16 & 0xFF), UInt8(d >> 8 & 0xFF), UInt8(d & 0xFF)] }
        return bytes + payload
    }

    func write(_ name: String, _ bytes: [UInt8], gzip: Bool = false) -> String {
        let path = directory.appendingPathComponent(name).path
        if gzip {
            let gz = gzopen(path, "wb")!
            _ = bytes.withUnsafeBytes { gzwrite(gz, $0.baseAddress, UInt32($0.count)) }
            gzclose(gz)
        } else {
            _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        }
        return path
    }

    func testEveryElementType() throws {
        func bigEndian<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.bigEndian) { Array($0) } }
        let cases: [(UInt8, [UInt8], [Double])] = [
            (0x08, [0, 255], [0, 255]),
            (0x09, [0x80, 0x7F], [-128, 127]),
            (0x0B, bigEndian(Int16(-300)) + bigEndian(Int16(300)), [-300, 300]),
            (0x0C, bigEndian(Int32(-70000)) + bigEndian(Int32(70000)), [-70000, 70000]),
            (0x0D, bigEndian(Float(1.5).bitPattern) + bigEndian(Float(-2.25).bitPattern), [1.5, -2.25]),
            (0x0E, bigEndian(Double(1e300).bitPattern) + bigEndian(Double(-0.125).bitPattern), [1e300, -0.125])
        ]
        for (type, payload, expected) in cases {
            for gzip in [false, true] {
                let path = write("t\(type)\(gzip)", idx(type: type, shape: [2], payload: payload), gzip: gzip)
                let array = try IDXArray(contentsOf: path)
                XCTAssertEqual(array.shape, [2])
                XCTAssertEqual((0..<2).map { array.value(at: $0) }, expected, "type \(type), gzip \(gzip)")
                XCTAssertEqual(array.tensor(as: Double.self).scalars, expected)
            }
        }
    }

    func testBadFilesThrowErrorsNamingFileAndProblem() {
        func error(_ path: String) -> String {
            do { _ = try IDXArray(contentsOf: path); return "no error" } catch { return "\(error)" }
        }
        let missing = directory.appendingPathComponent("nope").path
        XCTAssertEqual(error(missing), "\(missing): no such file")
        let magic = write("magic", [1, 2, 8, 1, 0, 0, 0, 1, 7])
        XCTAssertTrue(error(magic).hasPrefix(magic + ": not an IDX file"), error(magic))
        let type = write("type", idx(type: 0x07, shape: [1], payload: [1]))
        XCTAssertTrue(error(type).contains("unknown IDX element type 0x07"), error(type))
        let truncated = write("truncated", idx(type: 0x08, shape: [3, 2], payload: [1, 2, 3]))
        XCTAssertTrue(error(truncated).contains("truncated data: header says [3, 2]"), error(truncated))
        let header = write("header", [0, 0, 8, 3, 0, 0])
        XCTAssertTrue(error(header).contains("truncated header"), error(header))
        // a gzip stream cut in half
        let whole = write("whole.gz", idx(type: 0x08, shape: [1000], payload: (0..<1000).map { UInt8($0 % 251) }), gzip: true)
        let bytes = [UInt8](FileManager.default.contents(atPath: whole)!)
        let cut = write("cut.gz", Array(bytes[0..<(bytes.count / 2)]))
        XCTAssertTrue(error(cut).contains("gzip"), error(cut))
    }

    /// A synthetic MNIST-like set: sizes and classes come from the files.
    func testMNISTLayoutFromFiles() throws {
        let images = (0..<(3 * 4 * 5)).map { UInt8($0 * 4) }
        for split in ["train", "t10k"] {
            _ = write("\(split)-images-idx3-ubyte.gz", idx(type: 0x08, shape: [3, 4, 5], payload: images), gzip: true)
            _ = write("\(split)-labels-idx1-ubyte", idx(type: 0x08, shape: [3], payload: [0, 11, 4]))
        }
        XCTAssertTrue(MNIST<Float>.isPresent(in: directory.path))
        let flat = try MNIST<Float>(directory: directory.path, classes: 12)
        XCTAssertEqual(flat.train.images.shape, [3, 20])
        XCTAssertEqual(flat.train.labels, [0, 11, 4])
        XCTAssertEqual(flat.train.classCount, 12)
        XCTAssertEqual(flat.test.images.scalars[1], 4 / 255, accuracy: 1e-7)
        let image = try MNIST<Double>(directory: directory.path, layout: .image, classes: 12)
        XCTAssertEqual(image.test.images.shape, [3, 1, 4, 5])

        // labels that disagree with the images in count
        _ = write("t10k-labels-idx1-ubyte", idx(type: 0x08, shape: [2], payload: [1, 2]))
        XCTAssertThrowsError(try MNIST<Float>(directory: directory.path, classes: 12)) { error in
            XCTAssertTrue("\(error)".contains("2 labels for 3 images"), "\(error)")
        }
        try FileManager.default.removeItem(atPath: directory.appendingPathComponent("t10k-labels-idx1-ubyte").path)
        XCTAssertThrowsError(try MNIST<Float>(directory: directory.path)) { error in
            XCTAssertTrue("\(error)".contains("t10k-labels-idx1-ubyte[.gz]: no such file"), "\(error)")
        }
    }

    func testShuffledBatchesAreSeededAndCoverEverything() {
        let data = LabeledImages(
            images: Tensor<Float>(shape: [10, 1], scalars: (0..<10).map(Float.init)),
            labels: Array(0..<10), classCount: 10)
        var r1 = Random(seed: 4), r2 = Random(seed: 4)
        let a = data.batches(size: 3, using: &r1).map(\.labels)
        let b = data.batches(size: 3, using: &r2).map(\.labels)
        XCTAssertEqual(a, b, "same seed, same order")
        XCTAssertEqual(a.map(\.count), [3, 3, 3, 1])
        XCTAssertEqual(Set(a.flatMap { $0 }), Set(0..<10))
        XCTAssertNotEqual(a.flatMap { $0 }, Array(0..<10), "shuffled")
        for batch in data.batches(size: 4, using: &r1) {
            XCTAssertEqual(batch.images.scalars.map(Int.init), batch.labels, "images travel with their labels")
        }
        XCTAssertEqual(data.batches(size: 4).map(\.labels).first, [0, 1, 2, 3])
    }

    /// The real data in ../shared/data/mnist (skipped without it, failed on CI without it).
    func testRealMNIST() throws {
        let dir = try requireMNIST()
        let mnist = try MNIST<Float>(directory: dir)
        XCTAssertEqual(mnist.test.count, 10000)
        XCTAssertEqual(mnist.train.images.shape[1], 784)
        XCTAssertEqual(mnist.train.classCount, 10)
        XCTAssertEqual(mnist.test.labels.prefix(5), [7, 2, 1, 0, 4])
        XCTAssertEqual(mnist.train.images.maxAbs(), 1)
    }

    func testPNGEncodesValidGrayscale() throws {
        let pixels: [UInt8] = (0..<12).map { UInt8($0 * 20) }
        let png = PNG.encode(width: 4, height: 3, pixels: pixels)
        XCTAssertEqual(Array(png[0..<8]), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        // walk the chunks, check each CRC, inflate IDAT and compare the pixels
        var offset = 8, types: [String] = [], idat: [UInt8] = []
        while offset < png.count {
            let length = png[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
            let body = Array(png[(offset + 4)..<(offset + 8 + length)])
            let crc = png[(offset + 8 + length)..<(offset + 12 + length)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            XCTAssertEqual(crc, UInt32(crc32(0, body, uInt(body.count))))
            let type = String(decoding: body[0..<4], as: UTF8.self)
            types.append(type)
            if type == "IDAT" { idat += body[4...] }
            offset += 12 + length
        }
        XCTAssertEqual(types, ["IHDR", "IDAT", "IEND"])
        var raw = [UInt8](repeating: 0, count: 100)
        var size = uLongf(raw.count)
        XCTAssertEqual(uncompress(&raw, &size, idat, uLong(idat.count)), Z_OK)
        XCTAssertEqual(Int(size), 3 * 5)
        XCTAssertEqual((0..<3).flatMap { Array(raw[($0 * 5 + 1)..<($0 * 5 + 5)]) }, pixels)

        let grid = PNG.grid(Tensor<Float>(shape: [3, 2, 2], scalars: (0..<12).map(Float.init)), columns: 2, border: 1)
        XCTAssertEqual(grid.width, 2 * 2 + 3)
        XCTAssertEqual(grid.height, 2 * 2 + 3)
        XCTAssertEqual(grid.pixels[1 * grid.width + 1], 0, "each image scaled to its own range: min → black")
        XCTAssertEqual(grid.pixels[2 * grid.width + 2], 255, "max → white")
        let path = directory.appendingPathComponent("grid.png").path
        try PNG.writeGrid(Tensor<Float>.ones([4, 9]), to: path)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path))
    }
}
