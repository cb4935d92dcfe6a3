import Backprop
import Foundation
import Synchronization

// The examples' figures (PNG grids of digits, filters, reconstructions) and the problems
// that do not stop a run (a figure or checkpoint that could not be written).

/// Problems that did not stop the run (a figure or a checkpoint that could not be
/// written): each is reported when it happens, and `finishRun()` exits with status 1
/// if there were any, after the model has been saved.
public enum RunProblems {
    /// The messages reported so far.
    public static var messages: [String] { stored.withLock { $0 } }
    private static let stored = Mutex<[String]>([])

    /// Prints `message` to standard error as a warning and remembers it.
    public static func report(_ message: String) {
        stored.withLock { $0.append(message) }
        fflush(nil)
        FileHandle.standardError.write("\(programName): warning: \(message)\n".data(using: .utf8)!)
    }
}

/// The end of an example: exits with status 1 if a figure or checkpoint failed (listing
/// them again), else returns.
public func finishRun() {
    guard !RunProblems.messages.isEmpty else { return }
    fail(
        "\(programName): finished, but \(RunProblems.messages.count) output(s) could not be written:\n  "
            + RunProblems.messages.joined(separator: "\n  "))
}

/// Where an example writes its picture `name`: `directory/name`, the folder created if
/// needed; nil (reported) if it cannot be, so the figure is skipped.
public func figurePath(_ directory: String, _ name: String) -> String? {
    guard OutputFiles.written else { return nil } // (rank 0 only with --distributed)
    if let problem = createDirectory(directory) {
        RunProblems.report("figure \(name) skipped: --out \(directory): \(problem)")
        return nil
    }
    return (directory as NSString).appendingPathComponent(name)
}

/// Writes a figure made of rows of images: each tensor `[n, h·w]` (values in [0, 1]) is one
/// row of the grid, so digits sit above their reconstructions. Prints the path; a failure
/// is reported (`RunProblems`), not fatal. A nil `path` (see `figurePath`) writes nothing.
public func writeImageRows(_ rows: [Tensor<Float>], to path: String?, imageShape: (height: Int, width: Int) = (28, 28)) {
    guard let path else { return }
    guard let columns = rows.first?.shape[0], columns > 0, rows.allSatisfy({ $0.shape[0] == columns }) else {
        RunProblems.report("figure \(path) skipped: no images, or rows of different lengths \(rows.map(\.shape))")
        return
    }
    var all = rows[0]
    for row in rows.dropFirst() { all = all.concatenatingRows(row) }
    writeGrid(all, to: path, imageShape: imageShape, columns: columns, range: 0...1)
}

/// Writes `images` `[n, h·w]` as a grid (each image scaled to its own range unless `range`
/// is given) and prints the path. If the images are not `imageShape` or the file cannot be
/// written, the figure is skipped and the problem reported (`RunProblems`), not fatal.
public func writeGrid(
    _ images: Tensor<Float>, to path: String?, imageShape: (height: Int, width: Int) = (28, 28),
    columns: Int? = nil, border: Int = 1, range: ClosedRange<Double>? = nil
) {
    guard let path else { return }
    let n = images.shape.first ?? 0
    guard images.rank >= 2, n > 0, images.count / n == imageShape.height * imageShape.width else {
        RunProblems.report("figure \(path) skipped: images of shape \(images.shape) are not \(imageShape.height)×\(imageShape.width)")
        return
    }
    do {
        try PNG.writeGrid(images, to: path, imageShape: imageShape, columns: columns, border: border, range: range)
    } catch {
        RunProblems.report("figure \(path) not written: \(error)")
        return
    }
    print("wrote \(path)")
}

extension Tensor {
    /// The rows of `self` followed by the rows of `other` (same trailing shape).
    public func concatenatingRows(_ other: Tensor) -> Tensor {
        precondition(
            Array(shape.dropFirst()) == Array(other.shape.dropFirst()),
            "concatenatingRows: shapes \(shape) and \(other.shape) differ after the first axis")
        var newShape = shape
        newShape[0] += other.shape[0]
        return Tensor(shape: newShape, scalars: scalars + other.scalars)
    }
}

/// The summed squared error per image, Σ_pixels (r − x)², averaged over `data` `[N, d]`:
/// `reconstruct` is applied in batches of `batchSize`.
public func squaredErrorPerImage(
    _ data: Tensor<Float>, batchSize: Int = 1000,
    reconstruct: (Tensor<Float>) -> Tensor<Float>
) -> Double {
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
