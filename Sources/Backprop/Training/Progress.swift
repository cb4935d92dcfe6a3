import Foundation

/// A live progress line for a training epoch: `epoch 3/10  [=====>    ] 54%  loss 0.1234  12,345 samples/s  ETA 4s`.
///
/// On a terminal it redraws one line in place; when output goes to a file or a pipe
/// (CI logs) it prints nothing until `finish`, which prints one plain summary line.
public final class ProgressLine {
    private let title: String
    private let total: Int
    private let start = Date()
    private var lastDraw = Date.distantPast
    private let interactive: Bool
    private var done = 0
    private var lossSum = 0.0
    private var lossCount = 0

    /// `total` is the number of samples the epoch will see.
    public init(_ title: String, total: Int, interactive: Bool = isatty(STDOUT_FILENO) != 0) {
        self.title = title
        self.total = total
        self.interactive = interactive
    }

    /// Mean of the losses reported so far.
    public var meanLoss: Double { lossCount == 0 ? .nan : lossSum / Double(lossCount) }
    /// Seconds since the line was created.
    public var elapsed: Double { Date().timeIntervalSince(start) }
    /// Samples per second so far.
    public var rate: Double { Double(done) / max(elapsed, 1e-9) }

    /// Records `samples` more samples and the batch's loss; redraws at most 10 times a second.
    public func update(samples: Int, loss: Double) {
        done += samples
        lossSum += loss
        lossCount += 1
        guard interactive, Date().timeIntervalSince(lastDraw) > 0.1 else { return }
        lastDraw = Date()
        let fraction = Double(done) / Double(max(total, 1))
        let width = 24, filled = min(width, Int(fraction * Double(width)))
        let bar =
            String(repeating: "=", count: filled) + (filled < width ? ">" : "") + String(repeating: " ", count: max(0, width - filled - 1))
        let eta = rate > 0 ? Double(total - done) / rate : 0
        let line =
            "\(title)  [\(bar)] \(Int(fraction * 100))%  loss \(String(format: "%.4f", meanLoss))  \(Int(rate)) samples/s  ETA \(Int(eta.rounded()))s"
        FileHandle.standardOutput.write(("\r" + line + "\u{1B}[K").data(using: .utf8)!)
    }

    /// Ends the line with `extra` (e.g. the test accuracy) appended.
    public func finish(_ extra: String = "") {
        let line =
            "\(title)  loss \(String(format: "%.4f", meanLoss))  \(Int(rate)) samples/s  \(String(format: "%.1f", elapsed))s"
            + (extra.isEmpty ? "" : "  " + extra)
        if interactive { FileHandle.standardOutput.write(("\r\u{1B}[K").data(using: .utf8)!) }
        FileHandle.standardOutput.write((line + "\n").data(using: .utf8)!)
    }
}
