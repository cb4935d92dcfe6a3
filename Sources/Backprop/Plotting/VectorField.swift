// VectorField: arrows over a rectangle of the plane, a shaded scalar background with its
// colour bar, and points on top (an autoencoder's r(x) − x over its energy).
import Foundation

/// A vector field over a rectangle of the plane, written as SVG 1.1: a scalar function
/// shaded as the background (light = low, dark = high, with a colour bar), arrows for the
/// vectors, and points drawn on top. It is a `Chart`, so it composes with `ChartFigure`.
///
/// ```swift
/// var field = VectorField(title: "r(x) − x", x: -2...2, y: -2...2)
/// field.setBackground(values: energies, columns: 40, rows: 40, label: "E(x)")   // row 0 at the bottom
/// field.add(arrows: [(x: 0, y: 0, dx: 0.1, dy: 0)])
/// field.add(points: data, name: "training points")
/// try field.write(to: "field.svg")
/// ```
///
/// Arrows are scaled together so that the longest is `arrowLength` pixels (their relative
/// lengths are kept); arrows or points with a NaN or infinite coordinate are skipped.
public struct VectorField: Chart {
    /// One arrow: its tail (x, y) and its vector (dx, dy), in data units.
    public typealias Arrow = (x: Double, y: Double, dx: Double, dy: Double)

    /// The title, drawn above the plot ("" for none).
    public var title: String
    /// The axes' titles.
    public var xLabel: String, yLabel: String
    /// The rectangle shown.
    public let xRange: ClosedRange<Double>, yRange: ClosedRange<Double>
    /// The size in pixels.
    public var width: Double, height: Double
    /// The length in pixels of the longest arrow.
    public var arrowLength = 18.0
    /// The arrows' colour.
    public var arrowColor = "#222222"
    /// The points' marker radius in pixels and colour.
    public var markerSize = 2.0, markerColor = "#d62728"
    /// The background: values on a grid of `backgroundColumns` × `backgroundRows` cells
    /// covering the rectangle, row-major from the bottom row (nil: none).
    public private(set) var background: [Double]?
    public private(set) var backgroundColumns = 0, backgroundRows = 0
    /// The values the colour bar spans (nil: the background's range); values outside it
    /// get the end colours, so a few extreme cells need not wash out the rest.
    public var backgroundLimits: ClosedRange<Double>?
    /// The colour bar's title.
    public private(set) var backgroundLabel = ""
    /// The arrows and the points, in drawing order.
    public private(set) var arrows: [Arrow] = []
    public private(set) var points: [(x: Double, y: Double)] = []
    private var pointsName = ""

    /// An empty field over `x` × `y`, of `width` × `height` pixels.
    public init(
        title: String = "", xLabel: String = "", yLabel: String = "", x: ClosedRange<Double>, y: ClosedRange<Double>,
        width: Double = 640, height: Double = 560
    ) {
        require(
            width >= 200 && height >= 150 && width.isFinite && height.isFinite,
            "VectorField: the size must be at least 200×150 pixels, got \(width)×\(height)")
        require(
            x.lowerBound < x.upperBound && y.lowerBound < y.upperBound
                && [x.lowerBound, x.upperBound, y.lowerBound, y.upperBound].allSatisfy(\.isFinite),
            "VectorField: the ranges must be finite and not empty, got x \(x), y \(y)")
        (self.title, self.xLabel, self.yLabel, xRange, yRange, self.width, self.height) = (title, xLabel, yLabel, x, y, width, height)
    }

    /// Shades the background with `values` on a grid of `columns` × `rows` equal cells over
    /// the rectangle: value `r * columns + c` is cell (c, r), row 0 at the bottom (low y).
    public mutating func setBackground(values: [Double], columns: Int, rows: Int, label: String = "") {
        require(
            columns >= 1 && rows >= 1 && values.count == columns * rows,
            "VectorField.setBackground: \(values.count) values for a grid of \(columns) columns × \(rows) rows")
        (background, backgroundColumns, backgroundRows, backgroundLabel) = (values, columns, rows, label)
    }

    /// Adds arrows (tail and vector in data units).
    public mutating func add(arrows: [Arrow]) { self.arrows += arrows }

    /// Adds points drawn on top of everything, named `name` in the note under the title.
    public mutating func add(points: [(x: Double, y: Double)], name: String = "") {
        self.points += points
        if !name.isEmpty { pointsName = name }
    }

    /// The colour of fraction `t` in 0…1 of the background's range: from a light yellow to
    /// a mid blue (the lighter part of matplotlib's "YlGnBu", so dark arrows stay visible).
    static func shade(_ t: Double) -> String {
        let stops: [(Double, Double, Double)] = [
            (255, 255, 217), (237, 248, 177), (199, 233, 180), (127, 205, 187), (65, 182, 196), (29, 145, 192)
        ]
        let u = min(max(t.isFinite ? t : 0, 0), 1) * Double(stops.count - 1)
        let i = min(Int(u), stops.count - 2), f = u - Double(i)
        let (a, b) = (stops[i], stops[i + 1])
        func c(_ x: Double, _ y: Double) -> Int { Int((x + (y - x) * f).rounded()) }
        return String(format: "#%02x%02x%02x", c(a.0, b.0), c(a.1, b.1), c(a.2, b.2))
    }

    private var colorBarWidth: Double { background == nil ? 0 : 70 }

    /// The frame the field is drawn in: exactly the rectangle.
    var frame: PlotFrame {
        PlotFrame(
            width: width, height: height, title: title, xLabel: xLabel, yLabel: yLabel,
            xData: xRange, yData: yRange, logY: false, exact: true, reserveRight: colorBarWidth)
    }

    public func draw(into canvas: inout SVGCanvas, idPrefix: String) {
        let frame = self.frame
        let clipID = idPrefix + "-plot"
        canvas.clipRectangle(id: clipID, x: frame.left, y: frame.top, width: frame.right - frame.left, height: frame.bottom - frame.top)
        // 1. the background, cell by cell (under the grid lines, which it hides)
        var range: ClosedRange<Double>?
        if let background {
            range = backgroundLimits ?? finiteRange(background)
            let low = range?.lowerBound ?? 0, span = max((range?.upperBound ?? 1) - low, 1e-300)
            let cw = (xRange.upperBound - xRange.lowerBound) / Double(backgroundColumns)
            let ch = (yRange.upperBound - yRange.lowerBound) / Double(backgroundRows)
            for r in 0..<backgroundRows {
                for c in 0..<backgroundColumns {
                    let value = background[r * backgroundColumns + c]
                    guard value.isFinite else { continue }
                    let x0 = frame.xPixel(xRange.lowerBound + Double(c) * cw), x1 = frame.xPixel(xRange.lowerBound + Double(c + 1) * cw)
                    let y0 = frame.yPixel(yRange.lowerBound + Double(r + 1) * ch), y1 = frame.yPixel(yRange.lowerBound + Double(r) * ch)
                    // (a quarter pixel of overlap hides the seams between cells)
                    canvas.rectangle(
                        x: x0, y: y0, width: x1 - x0 + 0.25, height: y1 - y0 + 0.25, fill: VectorField.shade((value - low) / span),
                        crisp: true)
                }
            }
        }
        frame.drawAxes(into: &canvas, width: width, title: title, xLabel: xLabel, yLabel: yLabel, height: height)
        // 2. the arrows, scaled together
        let drawable = arrows.filter { [$0.x, $0.y, $0.dx, $0.dy].allSatisfy(\.isFinite) }
        let pixelsPerUnitX = (frame.right - frame.left) / (frame.x.range.upperBound - frame.x.range.lowerBound)
        let pixelsPerUnitY = (frame.bottom - frame.top) / (frame.y.range.upperBound - frame.y.range.lowerBound)
        func pixelLength(_ a: Arrow) -> Double {
            let px: Double = a.dx * pixelsPerUnitX, py: Double = a.dy * pixelsPerUnitY
            return (px * px + py * py).squareRoot()
        }
        let longest = drawable.map(pixelLength).max() ?? 0
        let scale = longest > 0 ? arrowLength / longest : 0
        for arrow in drawable {
            let tail = (x: frame.xPixel(arrow.x), y: frame.yPixel(arrow.y))
            let v = (x: arrow.dx * pixelsPerUnitX * scale, y: -arrow.dy * pixelsPerUnitY * scale)
            let length = (v.x * v.x + v.y * v.y).squareRoot()
            guard length >= 0.5 else {
                canvas.circle(center: tail, radius: 0.8, fill: arrowColor, clipID: clipID)
                continue
            }
            let head = (x: tail.x + v.x, y: tail.y + v.y)
            let (ux, uy) = (v.x / length, v.y / length), size = min(4.5, length * 0.45)
            let base = (x: head.x - ux * size, y: head.y - uy * size)
            canvas.line(from: tail, to: base, stroke: arrowColor, width: 1, opacity: 0.85)
            let half: Double = size * 0.5
            let left: (x: Double, y: Double) = (base.x - uy * half, base.y + ux * half)
            let right: (x: Double, y: Double) = (base.x + uy * half, base.y - ux * half)
            canvas.polygon([head, left, right], fill: arrowColor, opacity: 0.85, clipID: clipID)
        }
        // 3. the points on top
        for point in points {
            guard let p = frame.pixel(point.x, point.y) else { continue }
            canvas.circle(center: p, radius: markerSize, fill: markerColor, opacity: 0.8, clipID: clipID)
        }
        if !pointsName.isEmpty && !points.isEmpty {
            canvas.circle(center: (frame.left + 8, frame.top - 8), radius: 3, fill: markerColor)
            canvas.text(pointsName, at: (frame.left + 15, frame.top - 4), size: Style.legendSize - 1, color: Style.text)
        }
        // 4. the colour bar, right of the plot: low at the bottom, high at the top
        if background != nil {
            let x = frame.right + 14, barWidth = 14.0, top = frame.top, bottom = frame.bottom, steps = 40
            for k in 0..<steps {
                let y0 = bottom - Double(k + 1) / Double(steps) * (bottom - top)
                canvas.rectangle(
                    x: x, y: y0, width: barWidth, height: (bottom - top) / Double(steps) + 0.25,
                    fill: VectorField.shade((Double(k) + 0.5) / Double(steps)), crisp: true)
            }
            canvas.rectangle(x: x, y: top, width: barWidth, height: bottom - top, stroke: Style.axis, crisp: true)
            if let range {
                canvas.text(
                    String(format: "%.3g", range.upperBound), at: (x + barWidth + 3, top + Style.tickSize * 0.7), size: Style.tickSize - 1,
                    color: Style.text)
                canvas.text(
                    String(format: "%.3g", range.lowerBound), at: (x + barWidth + 3, bottom), size: Style.tickSize - 1, color: Style.text)
            }
            if !backgroundLabel.isEmpty {
                canvas.text(backgroundLabel, at: (x + barWidth / 2, top - 6), size: Style.tickSize, anchor: .middle, color: Style.text)
            }
        }
    }
}
