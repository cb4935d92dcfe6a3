@testable import Backprop
import CZlib
import Foundation
import XCTest

/// The PNG a filter grid is saved as, read back: chunk structure, CRCs, header, and the
/// pixels after inflating the image data with zlib.
final class PNGTests: XCTestCase {
    func testFilterGridPNGRoundTrip() throws {
        // four 3×2 "filters" [4, 1, 3, 2] (the layout of a Conv2D weight), each on its own range
        var rng = Random(seed: testSeed())
        let filters = Tensor<Float>.normal([4, 1, 3, 2], using: &rng)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("backprop-grid-\(UUID().uuidString).png").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try PNG.writeGrid(filters, to: path, columns: 2, border: 1)
        let png = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))

        XCTAssertEqual(Array(png.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "PNG signature")
        func bigEndian(_ bytes: ArraySlice<UInt8>) -> Int { bytes.reduce(0) { $0 << 8 | Int($1) } }
        var offset = 8, chunks: [(type: String, data: [UInt8])] = []
        while offset + 12 <= png.count {
            let length = bigEndian(png[offset..<offset + 4])
            XCTAssertLessThanOrEqual(offset + 12 + length, png.count, "chunk runs past the end")
            guard offset + 12 + length <= png.count else { return }
            let body = Array(png[(offset + 4)..<(offset + 8 + length)])
            XCTAssertEqual(
                bigEndian(png[(offset + 8 + length)..<(offset + 12 + length)]), Int(crc32(0, body, uInt(body.count))),
                "CRC of chunk \(String(decoding: body.prefix(4), as: UTF8.self))")
            chunks.append((String(decoding: body.prefix(4), as: UTF8.self), Array(body.dropFirst(4))))
            offset += 12 + length
        }
        XCTAssertEqual(offset, png.count)
        XCTAssertEqual(chunks.map(\.type), ["IHDR", "IDAT", "IEND"])

        // two columns and two rows of 3×2 images with a 1-pixel border: 7 wide, 9 high, 8-bit grayscale
        let (width, height) = (2 * 2 + 3, 2 * 3 + 3)
        XCTAssertEqual(chunks[0].data, [0, 0, 0, UInt8(width), 0, 0, 0, UInt8(height), 8, 0, 0, 0, 0])
        var raw = [UInt8](repeating: 0, count: (width + 1) * height + 16)
        var size = uLongf(raw.count)
        XCTAssertEqual(uncompress(&raw, &size, chunks[1].data, uLong(chunks[1].data.count)), Z_OK)
        XCTAssertEqual(Int(size), (width + 1) * height, "one filter byte and \(width) pixels per row")

        for y in 0..<height {
            XCTAssertEqual(raw[y * (width + 1)], 0, "filter type of row \(y)")
            for x in 0..<width {
                let pixel = raw[y * (width + 1) + 1 + x]
                let (col, xi) = ((x - 1) / 3, (x - 1) % 3), (row, yi) = ((y - 1) / 4, (y - 1) % 4)
                if x == 0 || y == 0 || xi == 2 || yi == 3 {
                    XCTAssertEqual(pixel, 128, "border at (\(x), \(y))")
                    continue
                }
                // each image scaled to its own range: min → 0, max → 255
                let k = row * 2 + col
                let image = Array(filters.scalars[(k * 6)..<(k * 6 + 6)])
                let (lo, hi) = (Double(image.min()!), Double(image.max()!))
                let expected = ((Double(image[yi * 2 + xi]) - lo) * 255 / (hi - lo)).rounded()
                XCTAssertEqual(Double(pixel), expected, accuracy: 1, "pixel (\(x), \(y)) of image \(k)")
            }
        }
    }
}
