// LineChart: named series of (x, y) points as lines, on linear or logarithmic y, with
// gaps at non-finite points; and the exponential smoothing of a noisy series.
import Foundation

/// A line chart of named series, written as SVG 1.1: axes with ticks at 1-2-5 steps
/// covering the data, grid lines, axis titles, a title and a legend.
///
/// ```swift
/// var chart = LineChart(title: "mnist-mlp", xLabel: "step", yLabel: "loss")
/// chart.add(series: "training loss", points: losses.enumerated().map { (Double($0 + 1), $1) },
///           opacity: 0.3, lineWidth: 1)
/// chart.add(series: "smoothed", points: Smoothing.exponential(points, weight: 0.9))
/// try chart.write(to: "loss.svg")          // atomic; a FileWriteError names the path
/// ```
///
/// - Points with a NaN or infinite coordinate (and, on a log axis, y ≤ 0) are not drawn:
///   the line stops before them and starts again after them, a gap.
/// - A chart without a drawable point (no series, or only NaN) is valid: it draws empty
///   axes from 0 to 1 with "no data" in the middle, so that a run that recorded nothing
///   still writes a readable file.
/// - Long series are reduced to what the pixels can show (per pixel column the first,
///   lowest, highest and last point), so 100,000 steps make a file of a few hundred kB
///   that looks the same.
public struct LineChart: Chart {
    /// One named line.
    public struct Series: Sendable {
        /// The name in the legend.
        public var name: String
        /// The points, in drawing order.
        public var points: [(x: Double, y: Double)]
        /// The colour (any SVG colour: "#1f77b4", "red").
        public var color: String
        /// The line width in pixels.
        public var lineWidth: Double
        /// The line's opacity, 0…1 (a light raw series under a smoothed one).
        public var opacity: Double
        /// Whether each point also gets a dot (for series of few points, e.g. per epoch).
        public var markers: Bool
        /// Whether the series has a legend entry.
        public var inLegend: Bool
    }

    /// The chart's title, drawn above the plot ("" for none).
    public var title: String
    /// The x axis's title.
    public var xLabel: String
    /// The y axis's title.
    public var yLabel: String
    /// The size in pixels.
    public var width: Double, height: Double
    /// Whether the y axis is logarithmic (base 10; points with y ≤ 0 are then gaps).
    public var logarithmicY = false
    /// The x range to show (default: the data's, widened to whole ticks).
    public var xRange: ClosedRange<Double>?
    /// The y range to show (default: the data's, widened to whole ticks), e.g. `0...100` for
    /// an accuracy in percent. Points outside it are clipped at the plot's edge.
    public var yRange: ClosedRange<Double>?
    /// The fraction of the data's span added on each side of both axes before the ticks are
    /// chosen (not below 0 for data that does not go below 0), so that points at the ends
    /// do not sit on the frame: 0.05 for a few per-epoch points. Explicit ranges are kept.
    public var padding = 0.0
    /// Whether the axes show exactly the (padded) data range, with the ticks inside it (as
    /// matplotlib does), instead of widening it to whole ticks. Log axes always have margins.
    public var ticksInside = false
    /// Whether the x ticks are whole numbers only (epochs, steps).
    public var integerXTicks = false
    /// Where the legend goes (default: the emptiest corner inside the plot).
    public var legend: LegendPlacement = .automatic
    /// The series, in drawing order (later on top).
    public private(set) var series: [Series] = []

    /// An empty chart of `width` × `height` pixels.
    public init(title: String = "", xLabel: String = "", yLabel: String = "", width: Double = 560, height: Double = 380) {
        require(
            width >= 200 && height >= 150 && width.isFinite && height.isFinite,
            "LineChart: the size must be at least 200×150 pixels, got \(width)×\(height)")
        (self.title, self.xLabel, self.yLabel, self.width, self.height) = (title, xLabel, yLabel, width, height)
    }

    /// Adds a series named `name` (its legend entry). Its colour is the next of `Palette`
    /// unless `color` is given; `markers` draws a dot at each point; `inLegend: false`
    /// leaves it out of the legend (e.g. the raw series under a smoothed one).
    public mutating func add(
        series name: String, points: [(x: Double, y: Double)], color: String? = nil,
        lineWidth: Double = 2, opacity: Double = 1, markers: Bool = false, inLegend: Bool = true
    ) {
        require(lineWidth > 0 && lineWidth.isFinite, "LineChart.add(series: \(name)): lineWidth must be positive, got \(lineWidth)")
        require((0...1).contains(opacity), "LineChart.add(series: \(name)): opacity must be in 0...1, got \(opacity)")
        series.append(
            Series(
                name: name, points: points, color: color ?? Palette.color(series.count), lineWidth: lineWidth,
                opacity: opacity, markers: markers, inLegend: inLegend))
    }

    /// Adds a series of `values` at x = 1, 2, 3, … (a value per step or per epoch).
    public mutating func add(
        series name: String, values: [Double], color: String? = nil, lineWidth: Double = 2,
        opacity: Double = 1, markers: Bool = false, inLegend: Bool = true
    ) {
        add(
            series: name, points: values.enumerated().map { (Double($0.offset + 1), $0.element) }, color: color,
            lineWidth: lineWidth, opacity: opacity, markers: markers, inLegend: inLegend)
    }

    /// The frame the chart is drawn in (its axes and pixel mapping).
    var frame: PlotFrame {
        let drawable = series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite && (!logarithmicY || $0.y > 0) }
        let xData = xRange ?? padded(finiteRange(drawable.map(\.x)), by: padding)
        let yData = yRange ?? (logarithmicY ? finiteRange(drawable.map(\.y)) : padded(finiteRange(drawable.map(\.y)), by: padding))
        let entries = legendEntries
        let reserve = legend == .outside && !entries.isEmpty ? PlotFrame.legendSize(entries).width + 12 : 0
        return PlotFrame(
            width: width, height: height, title: title, xLabel: xLabel, yLabel: yLabel,
            xData: drawable.isEmpty && xRange == nil ? nil : xData, yData: drawable.isEmpty && yRange == nil ? nil : yData,
            logY: logarithmicY, exact: ticksInside, reserveRight: reserve, minimumXStep: integerXTicks ? 1 : 0)
    }

    private var legendEntries: [LegendEntry] {
        series.filter(\.inLegend).map {
            LegendEntry(name: $0.name, color: $0.color, swatch: .line(width: $0.lineWidth, opacity: $0.opacity))
        }
    }

    /// The pixel positions drawn for each series: one array per unbroken run of drawable
    /// points (a gap ends a run), reduced to at most 4 points per pixel column.
    func segments(_ series: Series, in frame: PlotFrame) -> [[(x: Double, y: Double)]] {
        var runs: [[(x: Double, y: Double)]] = [], current: [(x: Double, y: Double)] = []
        for point in series.points {
            if let p = frame.pixel(point.x, point.y) {
                current.append(p)
            } else if !current.isEmpty {
                runs.append(current)
                current = []
            }
        }
        if !current.isEmpty { runs.append(current) }
        return runs.map(LineChart.reduced)
    }

    /// `run` with, per pixel column, only its first, lowest, highest and last point (in
    /// their order): the same picture from far fewer points.
    static func reduced(_ run: [(x: Double, y: Double)]) -> [(x: Double, y: Double)] {
        guard run.count > 8 else { return run }
        var out: [(x: Double, y: Double)] = []
        var start = 0
        while start < run.count {
            let column = run[start].x.rounded(.down)
            var end = start
            while end + 1 < run.count && run[end + 1].x.rounded(.down) == column { end += 1 }
            if end - start < 4 {
                out += run[start...end]
            } else {
                var low = start, high = start
                for i in start...end {
                    if run[i].y < run[low].y { low = i }
                    if run[i].y > run[high].y { high = i }
                }
                for i in Set([start, low, high, end]).sorted() { out.append(run[i]) }
            }
            start = end + 1
        }
        return out
    }

    public func draw(into canvas: inout SVGCanvas, idPrefix: String) {
        let frame = self.frame
        frame.drawAxes(into: &canvas, width: width, title: title, xLabel: xLabel, yLabel: yLabel, height: height)
        let clipID = idPrefix + "-plot"
        let slack = xRange == nil && yRange == nil ? 5.0 : 0 // (dots on the frame are drawn whole)
        canvas.clipRectangle(
            id: clipID, x: frame.left - slack, y: frame.top - slack,
            width: frame.right - frame.left + 2 * slack, height: frame.bottom - frame.top + 2 * slack)
        var drawn: [(x: Double, y: Double)] = []
        for s in series {
            for run in segments(s, in: frame) {
                canvas.polyline(run, stroke: s.color, width: s.lineWidth, opacity: s.opacity, clipID: clipID)
                if s.markers {
                    for p in run { canvas.circle(center: p, radius: s.lineWidth + 1.5, fill: s.color, opacity: s.opacity, clipID: clipID) }
                }
                drawn += alongLines(run)
            }
        }
        if drawn.isEmpty { frame.drawNoData(into: &canvas) }
        frame.drawLegend(legendEntries, placement: legend, pixels: drawn, into: &canvas)
    }
}

/// Smoothing of a noisy series, such as the loss of every training step.
public enum Smoothing {
    /// TensorBoard's exponential smoothing, bias-corrected: s_t = w·s_{t−1} + (1 − w)·v_t
    /// from s_0 = 0, divided by 1 − w^t (t counts the finite values so far) so that the
    /// first values are not pulled towards 0. A NaN or infinite value is passed through
    /// unchanged (a gap in a chart) and does not disturb the average. `weight` in [0, 1):
    /// 0 is no smoothing; 0.9 averages over about the last 10 values, 0.99 over 100.
    ///
    /// ```swift
    /// Smoothing.exponential([1, 2, 3], weight: 0.5)   // [1, 1.667, 2.429]
    /// ```
    public static func exponential(_ values: [Double], weight: Double) -> [Double] {
        require((0..<1).contains(weight), "Smoothing.exponential: weight must be in [0, 1), got \(weight)")
        var last = 0.0, count = 0.0
        return values.map { v in
            guard v.isFinite else { return v }
            last = last * weight + (1 - weight) * v
            count += 1
            return last / (1 - pow(weight, count))
        }
    }

    /// `exponential` applied to the y values of `points` (the x values kept).
    public static func exponential(_ points: [(x: Double, y: Double)], weight: Double) -> [(x: Double, y: Double)] {
        zip(points, exponential(points.map(\.y), weight: weight)).map { ($0.0.x, $0.1) }
    }

    /// A smoothing weight for `count` values that averages over about 1 % of them (at
    /// least 10, at most 1,000): 0.9 for up to 1,000 values, 0.99 for 10,000.
    public static func weight(forCount count: Int) -> Double {
        1 - 1 / min(1000, max(10, Double(count) / 100))
    }
}
