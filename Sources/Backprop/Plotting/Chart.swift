// What the charts share: the `Chart` protocol, the colour palette, the plot frame (axes,
// ticks, grid, titles), the legend, and `ChartFigure`, several charts side by side in one SVG.
import Foundation

/// A chart that draws itself as SVG: `LineChart` and `ScatterPlot`. `svg()` gives the
/// document, `write(to:)` writes it atomically; `ChartFigure` puts several in one file.
public protocol Chart: Sendable {
    /// The chart's size in pixels.
    var width: Double { get }
    /// The chart's height in pixels.
    var height: Double { get }
    /// Draws the chart into `canvas` with its top-left corner at the canvas's origin (a
    /// figure translates it). `idPrefix` makes the chart's clip-path ids unique in a figure.
    func draw(into canvas: inout SVGCanvas, idPrefix: String)
}

extension Chart {
    /// The chart as a standalone SVG 1.1 document.
    public func svg() -> String {
        var canvas = SVGCanvas(width: width, height: height)
        draw(into: &canvas, idPrefix: "c")
        return canvas.document
    }

    /// Writes `svg()` to `path` atomically (see `AtomicFile`); throws a `FileWriteError`
    /// naming the path.
    public func write(to path: String) throws {
        try AtomicFile.write(Array(svg().utf8), to: path)
    }
}

/// Several charts in one SVG document, in rows of `columns` (all side by side by default),
/// each in a cell as large as the largest chart.
///
/// ```swift
/// let figure = ChartFigure([lossChart, accuracyChart])      // two charts side by side
/// try figure.write(to: "curves.svg")
/// ```
public struct ChartFigure: Sendable {
    /// The charts, left to right then top to bottom.
    public var charts: [any Chart]
    /// Charts per row.
    public var columns: Int

    /// A figure of `charts` in rows of `columns` (default: one row).
    public init(_ charts: [any Chart], columns: Int? = nil) {
        require(!charts.isEmpty, "ChartFigure: no charts")
        require((columns ?? 1) >= 1, "ChartFigure: columns must be at least 1, got \(columns ?? 0)")
        self.charts = charts
        self.columns = columns ?? charts.count
    }

    /// The figure as one SVG 1.1 document.
    public func svg() -> String {
        let cellWidth = charts.map(\.width).max()!, cellHeight = charts.map(\.height).max()!
        let columns = min(self.columns, charts.count), rows = (charts.count + columns - 1) / columns
        var canvas = SVGCanvas(width: cellWidth * Double(columns), height: cellHeight * Double(rows))
        for (i, chart) in charts.enumerated() {
            canvas.beginGroup(translatedBy: Double(i % columns) * cellWidth, Double(i / columns) * cellHeight)
            chart.draw(into: &canvas, idPrefix: "c\(i)")
            canvas.endGroup()
        }
        return canvas.document
    }

    /// Writes `svg()` to `path` atomically; throws a `FileWriteError` naming the path.
    public func write(to path: String) throws {
        try AtomicFile.write(Array(svg().utf8), to: path)
    }
}

/// Ten distinguishable colours (matplotlib's "tab10"), for series and classes: class `k`
/// gets `colors[k % 10]`.
public enum Palette {
    /// Blue, orange, green, red, purple, brown, pink, grey, olive, cyan.
    public static let colors = [
        "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
        "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"
    ]
    /// The colour of series or class `index` (the palette repeats after 10).
    public static func color(_ index: Int) -> String { colors[((index % colors.count) + colors.count) % colors.count] }
}

/// Where a chart puts its legend.
public enum LegendPlacement: Sendable, Equatable {
    /// Inside the plot area, in the corner that hides the fewest data points.
    case automatic
    /// Inside the plot area, in a given corner.
    case topLeft, topRight, bottomLeft, bottomRight
    /// To the right of the plot area (the plot area narrows).
    case outside
    /// No legend.
    case hidden
}

/// The text sizes and colours of the charts.
enum Style {
    static let titleSize = 15.0, axisTitleSize = 13.0, tickSize = 11.0, legendSize = 12.0
    static let text = "#222222", axis = "#555555", grid = "#e3e3e3", minorGrid = "#f3f3f3", note = "#888888"
    /// An estimate of the width of `text` at font `size` (DejaVu Sans is about 0.6 em per
    /// character): enough to lay out margins and keep tick labels apart.
    static func textWidth(_ text: String, size: Double) -> Double { Double(text.count) * size * 0.61 }
}

/// One legend entry: a name and how its swatch is drawn.
struct LegendEntry {
    enum Swatch { case line(width: Double, opacity: Double), marker(MarkerShape, opacity: Double) }
    let name: String
    let color: String
    let swatch: Swatch
}

/// A scatter plot's marker shapes, cycled every 10 classes (so 30 stay distinct).
enum MarkerShape {
    case circle, square, triangle
    static func forIndex(_ index: Int) -> MarkerShape { [.circle, .square, .triangle][(index / 10) % 3] }

    func draw(
        into canvas: inout SVGCanvas, at p: (x: Double, y: Double), radius r: Double, color: String,
        opacity: Double, clipID: String?
    ) {
        switch self {
        case .circle: canvas.circle(center: p, radius: r, fill: color, opacity: opacity, clipID: clipID)
        case .square:
            canvas.polygon(
                [(p.x - r, p.y - r), (p.x + r, p.y - r), (p.x + r, p.y + r), (p.x - r, p.y + r)],
                fill: color, opacity: opacity, clipID: clipID)
        case .triangle:
            let h = r * 1.3
            canvas.polygon(
                [(p.x, p.y - h), (p.x + h, p.y + h * 0.75), (p.x - h, p.y + h * 0.75)], fill: color, opacity: opacity, clipID: clipID)
        }
    }
}

/// The frame of a chart: the plot area in pixels, the axes' ticks, and the mapping from
/// data to pixels. Both chart types lay themselves out with it.
struct PlotFrame {
    let left: Double, top: Double, right: Double, bottom: Double // the plot area's edges, in pixels
    let x: AxisTicks, y: AxisTicks

    /// Lays out a chart of `width` × `height` for data in `xData` × `yData` (nil: no data,
    /// the axes then show 0…1). `reserveRight` is room kept right of the plot (a legend).
    /// With `exact`, the axes show exactly the given ranges (ticks inside them); otherwise
    /// they are widened to whole ticks. `minimumXStep`: the closest the x ticks may be.
    init(
        width: Double, height: Double, title: String, xLabel: String, yLabel: String,
        xData: ClosedRange<Double>?, yData: ClosedRange<Double>?, logY: Bool, exact: Bool = false, reserveRight: Double = 0,
        minimumXStep: Double = 0
    ) {
        let yTarget = max(2, Int(((height - 90) / 45).rounded()))
        let y: AxisTicks
        if logY, let yData, yData.lowerBound > 0 {
            y = AxisTicks(logarithmic: yData, targetCount: yTarget)
        } else if exact, let yData {
            y = AxisTicks(within: yData, targetCount: yTarget)
        } else {
            y = AxisTicks(covering: yData ?? 0...1, targetCount: yTarget)
        }
        let yLabelWidth = y.labels.map { Style.textWidth($0, size: Style.tickSize) }.max() ?? 0
        left = 12 + (yLabel.isEmpty ? 0 : Style.axisTitleSize + 8) + yLabelWidth + 6
        top = title.isEmpty ? 14 : 40
        right = width - 20 - reserveRight
        bottom = height - (xLabel.isEmpty ? 28 : 50)
        // as many x ticks as fit without their labels touching
        var x = AxisTicks(covering: xData ?? 0...1, targetCount: 2)
        for target in stride(from: max(2, Int((right - left) / 60)), through: 2, by: -1) {
            let candidate =
                exact && xData != nil
                ? AxisTicks(within: xData!, targetCount: target, minimumStep: minimumXStep)
                : AxisTicks(covering: xData ?? 0...1, targetCount: target, minimumStep: minimumXStep)
            let widest = candidate.labels.map { Style.textWidth($0, size: Style.tickSize) }.max() ?? 0
            let spacing = (right - left) / (candidate.range.upperBound - candidate.range.lowerBound) * candidate.step
            if widest + 12 <= spacing || target == 2 { x = candidate; break }
        }
        (self.x, self.y) = (x, y)
    }

    /// The value `v` on the y axis as a fraction of its length (log10 on a log axis).
    private func yFraction(_ v: Double) -> Double {
        if y.isLogarithmic {
            return (log10(v) - log10(y.range.lowerBound)) / (log10(y.range.upperBound) - log10(y.range.lowerBound))
        }
        return (v - y.range.lowerBound) / (y.range.upperBound - y.range.lowerBound)
    }

    /// The pixel of the data point (`px`, `py`), or nil if it cannot be drawn (not finite,
    /// or not positive on a log axis).
    func pixel(_ px: Double, _ py: Double) -> (x: Double, y: Double)? {
        guard px.isFinite, py.isFinite, !y.isLogarithmic || py > 0 else { return nil }
        return (xPixel(px), yPixel(py))
    }

    /// The horizontal pixel of `v` on the x axis.
    func xPixel(_ v: Double) -> Double {
        left + (v - x.range.lowerBound) / (x.range.upperBound - x.range.lowerBound) * (right - left)
    }

    /// The vertical pixel of `v` on the y axis.
    func yPixel(_ v: Double) -> Double { bottom - yFraction(v) * (bottom - top) }

    /// Draws the grid, the axes with their ticks and labels, the axis titles and the title.
    func drawAxes(into canvas: inout SVGCanvas, width: Double, title: String, xLabel: String, yLabel: String, height: Double) {
        for (value, _) in zip(x.values, x.labels) {
            let px = xPixel(value)
            canvas.line(from: (px, top), to: (px, bottom), stroke: Style.grid, crisp: true)
        }
        for value in y.minorValues {
            let py = yPixel(value)
            canvas.line(from: (left, py), to: (right, py), stroke: Style.minorGrid, crisp: true)
        }
        for value in y.values {
            let py = yPixel(value)
            canvas.line(from: (left, py), to: (right, py), stroke: Style.grid, crisp: true)
        }
        for value in y.minorValues {
            canvas.line(from: (left - 2, yPixel(value)), to: (left, yPixel(value)), stroke: Style.axis, crisp: true)
        }
        canvas.rectangle(x: left, y: top, width: right - left, height: bottom - top, stroke: Style.axis, crisp: true)
        for (value, label) in zip(x.values, x.labels) {
            let px = xPixel(value)
            canvas.line(from: (px, bottom), to: (px, bottom + 4), stroke: Style.axis, crisp: true)
            canvas.text(label, at: (px, bottom + 6 + Style.tickSize), size: Style.tickSize, anchor: .middle, color: Style.text)
        }
        var lastLabel = Double.infinity // (a label too close to the one below is left out)
        for (value, label) in zip(y.values, y.labels) {
            let py = yPixel(value)
            canvas.line(from: (left - 4, py), to: (left, py), stroke: Style.axis, crisp: true)
            guard lastLabel - py >= Style.tickSize * 1.4 else { continue }
            canvas.text(label, at: (left - 6, py + Style.tickSize * 0.35), size: Style.tickSize, anchor: .end, color: Style.text)
            lastLabel = py
        }
        if !xLabel.isEmpty {
            canvas.text(xLabel, at: ((left + right) / 2, bottom + 24 + Style.axisTitleSize), size: Style.axisTitleSize, anchor: .middle)
        }
        if !yLabel.isEmpty {
            let cx = 12 + Style.axisTitleSize * 0.8, cy = (top + bottom) / 2
            canvas.text(yLabel, at: (cx, cy), size: Style.axisTitleSize, anchor: .middle, rotation: -90)
        }
        if !title.isEmpty {
            canvas.text(title, at: (width / 2, 24), size: Style.titleSize, anchor: .middle, bold: true)
        }
    }

    /// Writes "no data" in the middle of the plot area (an empty chart).
    func drawNoData(into canvas: inout SVGCanvas) {
        canvas.text("no data", at: ((left + right) / 2, (top + bottom) / 2), size: Style.axisTitleSize, anchor: .middle, color: Style.note)
    }

    // MARK: The legend

    static let legendRow = 18.0, legendPadding = 8.0, swatchWidth = 22.0

    /// The legend box's size for `entries`.
    static func legendSize(_ entries: [LegendEntry]) -> (width: Double, height: Double) {
        let text = entries.map { Style.textWidth($0.name, size: Style.legendSize) }.max() ?? 0
        return (2 * legendPadding + swatchWidth + 6 + text, 2 * legendPadding + Double(entries.count) * legendRow - 4)
    }

    /// Draws the legend at `placement`, choosing the emptiest corner for `.automatic`
    /// (`pixels`: the drawn data points, to count what each corner would hide).
    func drawLegend(
        _ entries: [LegendEntry], placement: LegendPlacement, pixels: [(x: Double, y: Double)],
        into canvas: inout SVGCanvas
    ) {
        guard !entries.isEmpty, placement != .hidden else { return }
        let size = PlotFrame.legendSize(entries)
        let inset = 8.0
        let corners: [LegendPlacement: (x: Double, y: Double)] = [
            .topRight: (right - inset - size.width, top + inset), .topLeft: (left + inset, top + inset),
            .bottomRight: (right - inset - size.width, bottom - inset - size.height),
            .bottomLeft: (left + inset, bottom - inset - size.height)
        ]
        var origin: (x: Double, y: Double)
        switch placement {
        case .outside: origin = (right + 12, top)
        case .automatic:
            // the corner hiding the fewest points (a sample of at most ~2,000), top-right first on ties
            let stride = max(1, pixels.count / 2000)
            let sample = Swift.stride(from: 0, to: pixels.count, by: stride).map { pixels[$0] }
            let order: [LegendPlacement] = [.topRight, .bottomRight, .topLeft, .bottomLeft]
            let best = order.min { a, b in
                func hidden(_ corner: LegendPlacement) -> Int {
                    let o = corners[corner]!
                    return sample.filter {
                        $0.x >= o.x - 4 && $0.x <= o.x + size.width + 4 && $0.y >= o.y - 4 && $0.y <= o.y + size.height + 4
                    }.count
                }
                return hidden(a) < hidden(b)
            }!
            origin = corners[best]!
        default: origin = corners[placement]!
        }
        canvas.rectangle(
            x: origin.x, y: origin.y, width: size.width, height: size.height, fill: "#ffffff",
            stroke: "#cccccc", opacity: 0.9)
        for (i, entry) in entries.enumerated() {
            let cy = origin.y + PlotFrame.legendPadding + Double(i) * PlotFrame.legendRow + 5
            let sx = origin.x + PlotFrame.legendPadding
            switch entry.swatch {
            case .line(let width, let opacity):
                canvas.line(
                    from: (sx, cy), to: (sx + PlotFrame.swatchWidth, cy), stroke: entry.color, width: max(width, 1.5),
                    opacity: max(opacity, 0.35))
            case .marker(let shape, let opacity):
                shape.draw(
                    into: &canvas, at: (sx + PlotFrame.swatchWidth / 2, cy), radius: 4, color: entry.color, opacity: max(opacity, 0.8),
                    clipID: nil)
            }
            canvas.text(entry.name, at: (sx + PlotFrame.swatchWidth + 6, cy + Style.legendSize * 0.35), size: Style.legendSize)
        }
    }
}

/// `range` widened by `fraction` of its length each side, but not below 0 if it does not
/// reach below 0 (an accuracy, a step count).
func padded(_ range: ClosedRange<Double>?, by fraction: Double) -> ClosedRange<Double>? {
    guard let range, fraction > 0 else { return range }
    let pad = (range.upperBound - range.lowerBound) * fraction
    let low = range.lowerBound >= 0 ? max(0, range.lowerBound - pad) : range.lowerBound - pad
    return low...(range.upperBound + pad)
}

/// Points every `spacing` pixels along the lines through `run` (for the legend to see
/// lines, not only their vertices).
func alongLines(_ run: [(x: Double, y: Double)], spacing: Double = 6) -> [(x: Double, y: Double)] {
    guard var last = run.first else { return [] }
    var out = [last]
    for p in run.dropFirst() {
        let length = ((p.x - last.x) * (p.x - last.x) + (p.y - last.y) * (p.y - last.y)).squareRoot()
        let pieces = min(Int(length / spacing), 1000)
        if pieces > 1 {
            for k in 1..<pieces {
                let t = Double(k) / Double(pieces)
                out.append((last.x + t * (p.x - last.x), last.y + t * (p.y - last.y)))
            }
        }
        out.append(p)
        last = p
    }
    return out
}

/// The smallest range holding every finite value of `values`, or nil if there is none.
func finiteRange<S: Sequence>(_ values: S) -> ClosedRange<Double>? where S.Element == Double {
    var low = Double.infinity, high = -Double.infinity
    for v in values where v.isFinite { (low, high) = (min(low, v), max(high, v)) }
    return low <= high ? low...high : nil
}
