import Backprop
import Foundation

/// Creates the output directory `directory` if needed and checks that it is writable,
/// exiting with a clear message otherwise: call it before training, not after.
public func prepareOutputDirectory(_ directory: String) {
    do {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    } catch {
        fail("error: cannot create the output directory '\(directory)': \(error.localizedDescription)")
    }
    if !FileManager.default.isWritableFile(atPath: directory) {
        fail("error: the output directory '\(directory)' is not writable")
    }
}

/// Where an example writes its picture `name`: `directory/name` (see `prepareOutputDirectory`).
public func figurePath(_ directory: String, _ name: String) -> String {
    prepareOutputDirectory(directory)
    return (directory as NSString).appendingPathComponent(name)
}

/// Writes a figure made of rows of images: each tensor `[n, h·w]` (values in [0, 1]) is one
/// row of the grid, so digits sit above their reconstructions. Prints the path.
public func writeImageRows(_ rows: [Tensor<Float>], to path: String, imageShape: (height: Int, width: Int) = (28, 28)) {
    precondition(!rows.isEmpty, "writeImageRows: no rows")
    let columns = rows[0].shape[0]
    precondition(rows.allSatisfy { $0.shape[0] == columns }, "writeImageRows: rows of different lengths \(rows.map(\.shape))")
    var all = rows[0]
    for row in rows.dropFirst() { all = all.concatenatingRows(row) }
    writeGrid(all, to: path, imageShape: imageShape, columns: columns, range: 0...1)
}

/// Writes `images` `[n, h·w]` as a grid (each image scaled to its own range unless `range`
/// is given) and prints the path; exits with the reason if the file cannot be written.
public func writeGrid(_ images: Tensor<Float>, to path: String, imageShape: (height: Int, width: Int) = (28, 28),
                      columns: Int? = nil, range: ClosedRange<Double>? = nil) {
    do {
        try PNG.writeGrid(images, to: path, imageShape: imageShape, columns: columns, range: range)
    } catch {
        fail("error: \(error)")
    }
    print("wrote \(path)")
}

extension Tensor {
    /// The rows of `self` followed by the rows of `other` (same trailing shape).
    public func concatenatingRows(_ other: Tensor) -> Tensor {
        precondition(Array(shape.dropFirst()) == Array(other.shape.dropFirst()),
                     "concatenatingRows: shapes \(shape) and \(other.shape) differ after the first axis")
        var newShape = shape
        newShape[0] += other.shape[0]
        return Tensor(shape: newShape, scalars: scalars + other.scalars)
    }
}

/// The summed squared error per image, Σ_pixels (r − x)², averaged over `data` `[N, d]`:
/// `reconstruct` is applied in batches of `batchSize`.
public func squaredErrorPerImage(_ data: Tensor<Float>, batchSize: Int = 1000,
                                 reconstruct: (Tensor<Float>) -> Tensor<Float>) -> Double {
    let n = data.shape[0]
    let loss = MSELoss<Float>(reduction: .sum)
    var total = 0.0
    for start in stride(from: 0, to: n, by: batchSize) {
        let batch = data[rows: start..<min(start + batchSize, n)]
        total += Double(loss.forward(reconstruct(batch), batch))
    }
    return total / Double(max(n, 1))
}

/// A wall-clock stopwatch for the examples' closing lines.
public struct Stopwatch {
    private let start = Date()
    public init() {}
    /// Seconds since creation.
    public var seconds: Double { Date().timeIntervalSince(start) }
    /// "12.3 s" or "4 min 05 s".
    public var formatted: String {
        let s = seconds
        return s < 120 ? String(format: "%.1f s", s) : String(format: "%d min %02d s", Int(s) / 60, Int(s) % 60)
    }
}
