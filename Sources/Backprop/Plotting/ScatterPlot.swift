// ScatterPlot: points coloured by class, with a legend and optional text labels (2-D codes,
// word vectors projected to a plane).
import Foundation

/// A scatter plot of points in groups (classes), written as SVG 1.1: each group has its
/// colour from `Palette` (and, past 10 groups, its own marker shape: circles, then squares,
/// then triangles), a legend entry, and optionally a text label per point.
///
/// ```swift
/// var plot = ScatterPlot(title: "2-D codes of test digits", xLabel: "z₁", yLabel: "z₂")
/// plot.add(points: codes, classes: labels, classNames: (0..<10).map(String.init))
/// plot.equalScales = true                     // one unit is as long on both axes
/// try plot.write(to: "codes.svg")
///
/// var words = ScatterPlot(title: "word vectors")
/// words.add(group: "nouns", points: nounPoints, labels: nouns)   // each point named
/// ```
///
/// Points with a NaN or infinite coordinate are skipped. A plot without a drawable point
/// draws empty axes (0 to 1) with "no data". Labels are drawn right of their points and may
/// overlap where the points crowd.
public struct ScatterPlot: Chart {
    /// One class of points.
    public struct Group: Sendable {
        /// The name in the legend.
        public var name: String
        /// The points.
        public var points: [(x: Double, y: Double)]
        /// A text per point (nil: none).
        public var labels: [String]?
        /// The colour.
        public var color: String
        /// The group's index among the groups: its marker shape.
        var index: Int
    }

    /// The title, drawn above the plot ("" for none).
    public var title: String
    /// The x axis's title.
    public var xLabel: String
    /// The y axis's title.
    public var yLabel: String
    /// The size in pixels.
    public var width: Double, height: Double
    /// The markers' radius in pixels.
    public var markerSize = 3.0
    /// The markers' opacity, 0…1 (lower for thousands of overlapping points).
    public var markerOpacity = 0.8
    /// The size of the point labels' font.
    public var labelSize = 10.0
    /// Whether one unit has the same length in pixels on both axes (a map of 2-D codes or
    /// of projected vectors, where distances matter). The axes then show the data's ranges
    /// (widened by 5 %, and one of them to keep the scales equal), with ticks inside.
    public var equalScales = false
    /// Where the legend goes (default: right of the plot). A single group has no legend.
    public var legend: LegendPlacement = .outside
    /// The groups, in drawing order.
    public private(set) var groups: [Group] = []

    /// An empty plot of `width` × `height` pixels.
    public init(title: String = "", xLabel: String = "", yLabel: String = "", width: Double = 640, height: Double = 480) {
        require(
            width >= 200 && height >= 150 && width.isFinite && height.isFinite,
            "ScatterPlot: the size must be at least 200×150 pixels, got \(width)×\(height)")
        (self.title, self.xLabel, self.yLabel, self.width, self.height) = (title, xLabel, yLabel, width, height)
    }

    /// Adds the group `name` of `points`, with a text per point if `labels` is given (as
    /// many as points), in `color` (default: the group's palette colour).
    public mutating func add(group name: String, points: [(x: Double, y: Double)], labels: [String]? = nil, color: String? = nil) {
        require(
            labels == nil || labels!.count == points.count,
            "ScatterPlot.add(group: \(name)): \(labels?.count ?? 0) labels for \(points.count) points")
        groups.append(Group(name: name, points: points, labels: labels, color: color ?? Palette.color(groups.count), index: groups.count))
    }

    /// Adds `points` by class: point i belongs to class `classes[i]` (≥ 0), named
    /// `classNames[c]` (default: "c"); one group per class present, in class order, class
    /// c in colour `Palette.color(c)`. `labels`, if given, is a text per point.
    public mutating func add(points: [(x: Double, y: Double)], classes: [Int], classNames: [String]? = nil, labels: [String]? = nil) {
        require(classes.count == points.count, "ScatterPlot.add(points:classes:): \(classes.count) classes for \(points.count) points")
        require(
            labels == nil || labels!.count == points.count,
            "ScatterPlot.add(points:classes:): \(labels?.count ?? 0) labels for \(points.count) points")
        require(classes.allSatisfy { $0 >= 0 }, "ScatterPlot.add(points:classes:): classes must be non-negative")
        if let classNames, let top = classes.max() {
            require(top < classNames.count, "ScatterPlot.add(points:classes:): class \(top) but only \(classNames.count) class names")
        }
        var members: [Int: [Int]] = [:]
        for (i, c) in classes.enumerated() { members[c, default: []].append(i) }
        for c in members.keys.sorted() {
            let indices = members[c]!
            groups.append(
                Group(
                    name: classNames?[c] ?? "\(c)", points: indices.map { points[$0] },
                    labels: labels.map { all in indices.map { all[$0] } }, color: Palette.color(c), index: c))
        }
    }

    private var legendEntries: [LegendEntry] {
        groups.count < 2
            ? []
            : groups.map {
                LegendEntry(name: $0.name, color: $0.color, swatch: .marker(MarkerShape.forIndex($0.index), opacity: markerOpacity))
            }
    }

    /// The frame the plot is drawn in (its axes and pixel mapping).
    var frame: PlotFrame {
        let drawable = groups.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite }
        let entries = legendEntries
        let reserve = legend == .outside && !entries.isEmpty ? PlotFrame.legendSize(entries).width + 12 : 0
        var xData = finiteRange(drawable.map(\.x)), yData = finiteRange(drawable.map(\.y))
        guard equalScales, var xr = xData, var yr = yData else {
            return PlotFrame(
                width: width, height: height, title: title, xLabel: xLabel, yLabel: yLabel,
                xData: xData, yData: yData, logY: false, reserveRight: reserve)
        }
        func widened(_ r: ClosedRange<Double>) -> ClosedRange<Double> {
            let pad = r.upperBound > r.lowerBound ? (r.upperBound - r.lowerBound) * 0.05 : max(abs(r.lowerBound) * 0.1, 1)
            return (r.lowerBound - pad)...(r.upperBound + pad)
        }
        (xr, yr) = (widened(xr), widened(yr))
        // the range with fewer units per pixel is widened around its centre to the other's;
        // the plot area's size depends a little on the tick labels, so repeat until it settles
        func centred(_ r: ClosedRange<Double>, _ span: Double) -> ClosedRange<Double> {
            let c = (r.lowerBound + r.upperBound) / 2
            return (c - span / 2)...(c + span / 2)
        }
        var frame = PlotFrame(
            width: width, height: height, title: title, xLabel: xLabel, yLabel: yLabel,
            xData: xr, yData: yr, logY: false, exact: true, reserveRight: reserve)
        for _ in 0..<4 {
            let (pw, ph) = (frame.right - frame.left, frame.bottom - frame.top)
            let unit = max((xr.upperBound - xr.lowerBound) / pw, (yr.upperBound - yr.lowerBound) / ph)
            xData = centred(xr, unit * pw)
            yData = centred(yr, unit * ph)
            frame = PlotFrame(
                width: width, height: height, title: title, xLabel: xLabel, yLabel: yLabel,
                xData: xData, yData: yData, logY: false, exact: true, reserveRight: reserve)
            if frame.right - frame.left == pw && frame.bottom - frame.top == ph { break }
        }
        return frame
    }

    public func draw(into canvas: inout SVGCanvas, idPrefix: String) {
        let frame = self.frame
        frame.drawAxes(into: &canvas, width: width, title: title, xLabel: xLabel, yLabel: yLabel, height: height)
        let clipID = idPrefix + "-plot"
        let slack = markerSize * 1.3 + 1 // (markers on the frame are drawn whole)
        canvas.clipRectangle(
            id: clipID, x: frame.left - slack, y: frame.top - slack,
            width: frame.right - frame.left + 2 * slack, height: frame.bottom - frame.top + 2 * slack)
        var drawn: [(x: Double, y: Double)] = []
        for group in groups {
            let shape = MarkerShape.forIndex(group.index)
            for point in group.points {
                guard let p = frame.pixel(point.x, point.y) else { continue }
                shape.draw(into: &canvas, at: p, radius: markerSize, color: group.color, opacity: markerOpacity, clipID: clipID)
                drawn.append(p)
            }
        }
        // labels on top of every marker
        for group in groups {
            guard let labels = group.labels else { continue }
            for (point, label) in zip(group.points, labels) where !label.isEmpty {
                guard let p = frame.pixel(point.x, point.y) else { continue }
                canvas.text(label, at: (p.x + markerSize + 2, p.y + labelSize * 0.35), size: labelSize, color: Style.text)
            }
        }
        if drawn.isEmpty { frame.drawNoData(into: &canvas) }
        frame.drawLegend(legendEntries, placement: legend, pixels: drawn, into: &canvas)
    }
}
