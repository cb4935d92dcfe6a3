import CZlib
import Foundation

/// A minimal PNG writer: 8-bit grayscale, zlib-compressed, for filter grids,
/// reconstructions and samples.
public enum PNG {
    /// Encodes `pixels` (row-major, `width · height` bytes, 0 = black) as PNG bytes.
    public static func encode(width: Int, height: Int, pixels: [UInt8]) -> [UInt8] {
        require(width > 0 && height > 0, "PNG.encode: size must be positive, got \(width)×\(height)")
        require(pixels.count == width * height, "PNG.encode: \(pixels.count) pixels for \(width)×\(height)")
        // each row starts with its filter type (0 = none)
        var raw = [UInt8]()
        raw.reserveCapacity((width + 1) * height)
        for y in 0..<height {
            raw.append(0)
            raw.append(contentsOf: pixels[(y * width)..<((y + 1) * width)])
        }
        var compressedSize = compressBound(uLong(raw.count))
        var compressed = [UInt8](repeating: 0, count: Int(compressedSize))
        let status = compress2(&compressed, &compressedSize, raw, uLong(raw.count), 9)
        require(status == Z_OK, "PNG.encode: zlib compress2 failed with status \(status)")
        compressed.removeSubrange(Int(compressedSize)...)

        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        func bigEndian(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
        func chunk(_ type: String, _ data: [UInt8]) {
            let body = Array(type.utf8) + data
            png += bigEndian(UInt32(data.count)) + body
            png += bigEndian(UInt32(crc32(0, body, uInt(body.count))))
        }
        // IHDR: width, height, bit depth 8, color type 0 (grayscale), compression, filter, interlace
        chunk("IHDR", bigEndian(UInt32(width)) + bigEndian(UInt32(height)) + [8, 0, 0, 0, 0])
        chunk("IDAT", compressed)
        chunk("IEND", [])
        return png
    }

    /// Writes a grayscale PNG atomically (temporary file, then rename).
    public static func write(_ path: String, width: Int, height: Int, pixels: [UInt8]) throws {
        try AtomicFile.write(encode(width: width, height: height, pixels: pixels), to: path)
    }

    /// Lays out `images` (`[N, H, W]`, `[N, 1, H, W]`, or `[N, H·W]` with `imageShape`) in a grid
    /// of `columns`, with a `border` of gray between them. Each image is scaled to its own
    /// range (min → black, max → white) unless `range` fixes one for all (e.g. `0...1`).
    public static func grid<Scalar: TensorScalar>(
        _ images: Tensor<Scalar>, imageShape: (height: Int, width: Int)? = nil,
        columns: Int? = nil, border: Int = 1,
        range: ClosedRange<Double>? = nil
    ) -> (width: Int, height: Int, pixels: [UInt8]) {
        let n = images.shape.first ?? 0
        require(n > 0, "PNG.grid: no images in a tensor of shape \(images.shape)")
        let perImage = images.count / n
        let (h, w): (Int, Int) =
            imageShape.map { ($0.height, $0.width) }
            ?? (images.rank >= 3
                ? (images.shape[images.rank - 2], images.shape[images.rank - 1])
                : {
                    let side = Int(Double(perImage).squareRoot()); return (side, side)
                }())
        require(h * w == perImage, "PNG.grid: images of \(perImage) values cannot be shown as \(h)×\(w) (tensor \(images.shape))")
        let cols = columns ?? Int(Double(n).squareRoot().rounded(.up))
        let rows = (n + cols - 1) / cols
        let width = cols * w + (cols + 1) * border, height = rows * h + (rows + 1) * border
        var pixels = [UInt8](repeating: 128, count: width * height)
        let values = images.scalars.map { Double($0) }
        for k in 0..<n {
            let image = values[(k * perImage)..<((k + 1) * perImage)]
            let lo = range?.lowerBound ?? image.min()!, hi = range?.upperBound ?? image.max()!
            let scale = hi > lo ? 255 / (hi - lo) : 0
            let x0 = border + (k % cols) * (w + border), y0 = border + (k / cols) * (h + border)
            for y in 0..<h {
                for x in 0..<w {
                    let v = (image[image.startIndex + y * w + x] - lo) * scale
                    pixels[(y0 + y) * width + x0 + x] = UInt8(max(0, min(255, v.rounded())))
                }
            }
        }
        return (width, height, pixels)
    }

    /// Writes `grid(...)` of `images` to `path`.
    public static func writeGrid<Scalar: TensorScalar>(
        _ images: Tensor<Scalar>, to path: String,
        imageShape: (height: Int, width: Int)? = nil, columns: Int? = nil,
        border: Int = 1, range: ClosedRange<Double>? = nil
    ) throws {
        let g = grid(images, imageShape: imageShape, columns: columns, border: border, range: range)
        try write(path, width: g.width, height: g.height, pixels: g.pixels)
    }
}
