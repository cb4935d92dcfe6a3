// The training curves every example writes: the loss of each step and the evaluations
// (test or validation metrics), recorded while training and drawn as `<example>-curves.svg`.
import Backprop
import Foundation

/// The curves of a run, recorded while it trains: the loss of every step, and the metrics
/// measured after each epoch (or every N steps). `write(to:)` draws them as one SVG of two
/// charts side by side:
///
/// - left, the training loss per step: every step's loss, light, under its exponentially
///   smoothed value (TensorBoard's bias-corrected smoothing, averaging over about 1 % of
///   the steps), strong. The y axis is logarithmic when the smoothed loss falls by more
///   than a factor of 4 (a classifier's cross-entropy, the first steps of an autoencoder),
///   linear otherwise;
/// - right, each metric (test accuracy, validation loss, …) at each evaluation, with dots.
///
/// Several runs (`run:`, e.g. "pretrained" and "random init") share the charts, one colour
/// each. `TrainingLoop` records its steps itself (`training.curves`); an example with its
/// own loop calls `record(step:loss:)`.
///
/// ```swift
/// let curves = Curves(metricAxis: "step")
/// curves.record(step: step, loss: value)                                  // every step
/// curves.record(metric: "validation loss", value: v, unit: "nats/char", at: Double(step))
/// curves.write(to: outDir)                                                // char-lstm-curves.svg
/// ```
public final class Curves {
    /// What the metrics' x axis counts: "epoch" (whole numbers) or "step".
    public let metricAxis: String
    /// The example's name, the file's prefix (`<name>-curves.svg`) and the figure's title.
    public let name: String

    private struct Run { var name: String; var losses: [(x: Double, y: Double)] = [] }
    private struct Metric { var run: Int; var name: String; var unit: String; var points: [(x: Double, y: Double)] = [] }
    private var runs: [Run] = []
    private var metrics: [Metric] = []

    /// Empty curves for the example `name`, whose metrics are measured per `metricAxis`.
    public init(metricAxis: String = "epoch", name: String = programName) {
        (self.metricAxis, self.name) = (metricAxis, name)
    }

    /// Whether nothing was recorded (then `write` writes nothing).
    public var isEmpty: Bool { runs.allSatisfy(\.losses.isEmpty) && metrics.allSatisfy(\.points.isEmpty) }

    private func runIndex(_ run: String) -> Int {
        if let i = runs.firstIndex(where: { $0.name == run }) { return i }
        runs.append(Run(name: run))
        return runs.count - 1
    }

    /// Records the training loss of `step` (1-based, counted over the whole run) of `run`.
    public func record(step: Int, loss: Double, run: String = "") {
        runs[runIndex(run)].losses.append((Double(step), loss))
    }

    /// Records the metric `name` (in `unit`, e.g. "%"; "" for none) of `run` measured at `x`
    /// (an epoch, or a step when `metricAxis` is "step").
    public func record(metric name: String, value: Double, unit: String = "", at x: Double, run: String = "") {
        let r = runIndex(run)
        if let i = metrics.firstIndex(where: { $0.run == r && $0.name == name }) {
            metrics[i].points.append((x, value))
        } else {
            metrics.append(Metric(run: r, name: name, unit: unit, points: [(x, value)]))
        }
    }

    /// The two charts: the training loss per step, and the metrics.
    public var figure: ChartFigure {
        var loss = LineChart(title: "\(name): training loss", xLabel: "step", yLabel: "loss per batch", width: 560, height: 380)
        let steps = runs.map(\.losses.count).max() ?? 0
        let weight = Smoothing.weight(forCount: steps)
        var smoothedRange: [Double] = []
        for (i, run) in runs.enumerated() where !run.losses.isEmpty {
            let color = Palette.color(i), prefix = run.name.isEmpty ? "" : run.name + ", "
            let smoothed = Smoothing.exponential(run.losses, weight: weight)
            loss.add(series: prefix + "every step", points: run.losses, color: color, lineWidth: 1, opacity: 0.25)
            loss.add(series: prefix + "smoothed", points: smoothed, color: color, lineWidth: 2.2)
            smoothedRange += smoothed.map(\.y)
        }
        if let low = smoothedRange.filter({ $0.isFinite }).min(), let high = smoothedRange.filter({ $0.isFinite }).max(),
            low > 0, high / low > 4
        {
            loss.logarithmicY = true
        }

        let units = Set(metrics.map(\.unit)), names = Set(metrics.map(\.name))
        let unit = units.count == 1 ? units.first! : ""
        let yLabel = names.count == 1 ? names.first! + (unit.isEmpty ? "" : " (\(unit))") : unit // (the legend names them)
        var metric = LineChart(title: "\(name): evaluation", xLabel: metricAxis, yLabel: yLabel, width: 460, height: 380)
        metric.integerXTicks = true
        metric.padding = 0.05 // (the first and last points off the frame)
        metric.ticksInside = true
        for (j, m) in metrics.enumerated() {
            let run = runs[m.run].name
            let series = (run.isEmpty ? "" : run + ", ") + m.name + (units.count > 1 && !m.unit.isEmpty ? " (\(m.unit))" : "")
            let metricIndex = names.sorted().firstIndex(of: m.name) ?? j
            metric.add(
                series: series, points: m.points, color: Palette.color(m.run + metricIndex * max(runs.count, 1)),
                lineWidth: 2, markers: true)
        }
        return ChartFigure([loss, metric])
    }

    /// Writes the curves as `<name>-curves.svg` in `directory` (created if needed) and
    /// prints the path. Nothing is written if nothing was recorded (e.g. a `--resume` with
    /// no epoch left), so an earlier run's curves are not replaced by empty ones. A failure
    /// is reported (`RunProblems`: the run ends with status 1), never fatal: call it after
    /// `--save`. After `--resume` the curves start at the checkpoint's step.
    public func write(to directory: String) {
        guard !isEmpty, let path = figurePath(directory, "\(name)-curves.svg") else { return }
        do {
            try figure.write(to: path)
        } catch {
            RunProblems.report("figure \(path) not written: \(error)")
            return
        }
        print("wrote \(path)")
    }
}
