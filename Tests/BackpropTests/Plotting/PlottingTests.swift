// Tests of the plotting module: nice ticks, pixel mapping, gaps, legends, escaping, empty
// charts, scatter plots, figures, the SVG's well-formedness (parsed as XML) and smoothing.
@testable import Backprop
import Foundation
#if canImport(FoundationXML)
    import FoundationXML
#endif
import XCTest

/// An SVG document parsed as XML: its elements (name and attributes) and the text of each
/// `<text>` element, in document order. Fails the test if the document is not well-formed.
struct ParsedSVG {
    var elements: [(name: String, attributes: [String: String])] = []
    var texts: [String] = []

    init(_ svg: String, file: StaticString = #filePath, line: UInt = #line) {
        final class Collector: NSObject, XMLParserDelegate {
            var elements: [(name: String, attributes: [String: String])] = []
            var texts: [String] = []
            var inText = false, current = ""
            func parser(
                _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]
            ) {
                elements.append((name, attributes))
                if name == "text" { (inText, current) = (true, "") }
            }
            func parser(_ parser: XMLParser, foundCharacters string: String) { if inText { current += string } }
            func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
                if name == "text" { texts.append(current); inText = false }
            }
        }
        let parser = XMLParser(data: Data(svg.utf8))
        let collector = Collector()
        parser.delegate = collector
        let ok = parser.parse()
        XCTAssertTrue(
            ok && parser.parserError == nil, "not well-formed XML: \(String(describing: parser.parserError))\n\(svg.prefix(2000))",
            file: file, line: line)
        (elements, texts) = (collector.elements, collector.texts)
        XCTAssertEqual(elements.first?.name, "svg", "the root element", file: file, line: line)
        XCTAssertEqual(elements.first?.attributes["xmlns"], "http://www.w3.org/2000/svg", file: file, line: line)
    }

    func all(_ name: String) -> [[String: String]] { elements.filter { $0.name == name }.map(\.attributes) }

    /// The points of a `<polyline>`'s `points` attribute.
    static func points(_ attribute: String?) -> [(x: Double, y: Double)] {
        (attribute ?? "").split(separator: " ").map { pair in
            let xy = pair.split(separator: ",").map { Double($0)! }
            return (xy[0], xy[1])
        }
    }
}

final class TicksTests: XCTestCase {
    func testTicksAreNiceEvenlySpacedAndCoverTheData() {
        var rng = Random(seed: testSeed())
        for _ in 0..<500 {
            // ranges from 1e-6 wide to 1e6 wide, anywhere
            let scale = pow(10, Double(rng.next() % 13) - 6)
            let a = (Double(rng.next() % 20001) / 10000 - 1) * scale * 3, width = Double(rng.next() % 10000 + 1) / 1000 * scale
            let target = Int(rng.next() % 8) + 2
            let ticks = AxisTicks(covering: a...(a + width), targetCount: target)
            // the step is 1, 2 or 5 times a power of ten
            let mantissa = ticks.step / pow(10, log10(ticks.step).rounded(.down))
            XCTAssertTrue([1, 2, 5].contains { abs(mantissa - $0) < 1e-9 }, "step \(ticks.step) for \(a)...\(a + width)")
            // the range covers the data and starts and ends on ticks
            XCTAssertLessThanOrEqual(ticks.range.lowerBound, a + ticks.step * 1e-8)
            XCTAssertGreaterThanOrEqual(ticks.range.upperBound, a + width - ticks.step * 1e-8)
            XCTAssertEqual(ticks.values.first, ticks.range.lowerBound)
            XCTAssertEqual(ticks.values.last, ticks.range.upperBound)
            // evenly spaced, at multiples of the step, not too many
            for (u, v) in zip(ticks.values, ticks.values.dropFirst()) { XCTAssertEqual(v - u, ticks.step, accuracy: ticks.step * 1e-6) }
            for v in ticks.values { XCTAssertEqual((v / ticks.step).rounded(), v / ticks.step, accuracy: 1e-6) }
            XCTAssertLessThanOrEqual(ticks.values.count - 1, target + 2, "\(ticks.values) for \(a)...\(a + width), target \(target)")
            // a label per tick, which reads back as the tick's value
            XCTAssertEqual(ticks.labels.count, ticks.values.count)
            for (value, label) in zip(ticks.values, ticks.labels) {
                XCTAssertEqual(Double(label)!, value, accuracy: ticks.step * 1e-3, "label \(label) of \(value)")
            }
            XCTAssertEqual(Set(ticks.labels).count, ticks.labels.count, "labels must differ: \(ticks.labels)")
        }
    }

    func testKnownTicks() {
        let ticks = AxisTicks(covering: 0.13...0.92, targetCount: 5) // span 0.79 / 5 = 0.158 → step 0.2
        XCTAssertEqual(ticks.step, 0.2, accuracy: 1e-15)
        XCTAssertEqual(ticks.labels, ["0", "0.2", "0.4", "0.6", "0.8", "1.0"])
        let steps = AxisTicks(covering: 1...1407, targetCount: 6) // 1406 / 6 = 234 → 500
        XCTAssertEqual(steps.values, [0, 500, 1000, 1500])
        XCTAssertEqual(steps.labels, ["0", "500", "1000", "1500"])
        let negative = AxisTicks(covering: -0.07...0.02, targetCount: 4) // 0.0225 → 0.05
        XCTAssertEqual(negative.labels, ["-0.10", "-0.05", "0", "0.05"])
        let point = AxisTicks(covering: 3...3) // one value: widened to 2.7...3.3
        XCTAssertLessThan(point.range.lowerBound, 3)
        XCTAssertGreaterThan(point.range.upperBound, 3)
        let inside = AxisTicks(within: 0.13...0.92, targetCount: 5)
        XCTAssertEqual(inside.range, 0.13...0.92)
        XCTAssertEqual(inside.labels, ["0.2", "0.4", "0.6", "0.8"])
    }

    func testLogarithmicTicks() {
        // 0.003…20: log10 from −2.52 to 1.30, 4 % margins: −2.68 to 1.45; decades −2…1 inside
        let decades = AxisTicks(logarithmic: 0.003...20)
        XCTAssertEqual(log10(decades.range.lowerBound), log10(0.003) - 0.04 * log10(20 / 0.003), accuracy: 1e-12)
        XCTAssertEqual(log10(decades.range.upperBound), log10(20) + 0.04 * log10(20 / 0.003), accuracy: 1e-12)
        XCTAssertEqual(decades.labels, ["0.01", "0.1", "1", "10"])
        XCTAssertTrue(decades.isLogarithmic)
        // minor ticks at 2…9 × 10^k inside the range: 0.003…0.009 (7), 3 decades × 8, 20
        XCTAssertEqual(decades.minorValues.count, 7 + 24 + 1)
        XCTAssertEqual(decades.minorValues.first!, 0.003, accuracy: 1e-15)
        XCTAssertEqual(decades.minorValues.last!, 20, accuracy: 1e-12)
        // on less than two decades: 1, 2, 5 × 10^k (0.03…0.4 with margins: 0.027…0.443)
        XCTAssertEqual(AxisTicks(logarithmic: 0.03...0.4).labels, ["0.05", "0.1", "0.2"])
        // 18 decades (19.4 with margins: 10^-9 … 10^9 inside) for 6 ticks: one every 5 decades
        let wide = AxisTicks(logarithmic: 1e-9...1e9, targetCount: 6)
        XCTAssertEqual(wide.step, 5)
        XCTAssertEqual(wide.labels, ["1e-05", "1", "100000"])
        XCTAssertTrue(wide.minorValues.isEmpty)
        // a range too short for two 1-2-5 ticks falls back to linear nice ticks
        let short = AxisTicks(logarithmic: 0.31...0.38)
        XCTAssertGreaterThanOrEqual(short.values.count, 2)
        XCTAssertTrue(short.values.allSatisfy { short.range.contains($0) })
    }
}

final class LineChartTests: XCTestCase {
    func testPointsMapToTheirPixels() throws {
        var chart = LineChart(title: "t", xLabel: "x", yLabel: "y")
        chart.add(series: "line", points: [(0, 0), (5, 50), (10, 100)])
        let frame = chart.frame
        XCTAssertEqual(frame.x.range, 0...10)
        XCTAssertEqual(frame.y.range, 0...100)
        let middle = try XCTUnwrap(frame.pixel(5, 50))
        XCTAssertEqual(middle.x, (frame.left + frame.right) / 2, accuracy: 1e-9)
        XCTAssertEqual(middle.y, (frame.top + frame.bottom) / 2, accuracy: 1e-9)
        // the document's line goes through the corners of the plot area
        let svg = ParsedSVG(chart.svg())
        let line = ParsedSVG.points(svg.all("polyline").first?["points"])
        XCTAssertEqual(line.count, 3)
        XCTAssertEqual(line.first?.x ?? .nan, frame.left, accuracy: 0.01)
        XCTAssertEqual(line.first?.y ?? .nan, frame.bottom, accuracy: 0.01)
        XCTAssertEqual(line.last?.x ?? .nan, frame.right, accuracy: 0.01)
        XCTAssertEqual(line.last?.y ?? .nan, frame.top, accuracy: 0.01)
        XCTAssertGreaterThan(frame.left, 20) // room for the tick labels and the axis title
        XCTAssertLessThan(frame.right, chart.width)
    }

    func testLegendNamesEverySeriesAndTheTitles() {
        var chart = LineChart(title: "curves", xLabel: "step", yLabel: "loss")
        for name in ["training loss", "test loss", "validation loss"] {
            chart.add(series: name, values: [3, 2, 1.5, 1.2])
        }
        chart.add(series: "raw", values: [3, 2, 1, 1], inLegend: false)
        let texts = ParsedSVG(chart.svg()).texts
        for name in ["training loss", "test loss", "validation loss", "curves", "step", "loss"] {
            XCTAssertTrue(texts.contains(name), "'\(name)' missing from \(texts)")
        }
        XCTAssertFalse(texts.contains("raw"))
        // each series its own colour from the palette
        let strokes = ParsedSVG(chart.svg()).all("polyline").map { $0["stroke"] ?? "" }
        XCTAssertEqual(Array(strokes.prefix(3)), Array(Palette.colors.prefix(3)))
    }

    func testNonFinitePointsMakeGaps() {
        var chart = LineChart()
        chart.add(series: "s", values: [1, 2, .nan, 4, 5, .infinity, 7, 8, -.infinity])
        let lines = ParsedSVG(chart.svg()).all("polyline")
        XCTAssertEqual(lines.count, 3, "three runs of finite points")
        XCTAssertEqual(lines.map { ParsedSVG.points($0["points"]).count }, [2, 2, 2])
        XCTAssertEqual(chart.frame.y.range.upperBound, 8, "the infinite points do not stretch the axis")
        // on a log axis, y ≤ 0 is a gap too
        var log = LineChart()
        log.logarithmicY = true
        log.add(series: "s", values: [1, 10, 0, 100, 200, -1, 1000])
        XCTAssertEqual(ParsedSVG(log.svg()).all("polyline").count, 2)
        XCTAssertEqual(ParsedSVG(log.svg()).all("circle").count, 1, "a lone point is a dot")
        let frame = log.frame
        // the axis shows 10^-0.12 … 10^3.12 (1 to 1000 and 4 % margins): 10 is 1.12 / 3.24 of the way up
        XCTAssertEqual(frame.pixel(10, 10)!.y, frame.bottom - (frame.bottom - frame.top) * 1.12 / 3.24, accuracy: 1e-9)
    }

    func testTextIsEscaped() {
        var chart = LineChart(title: "a < b & \"c\" > 'd'", xLabel: "x & y", yLabel: "<loss>")
        chart.add(series: "</text><script>", values: [1, 2])
        let svg = chart.svg()
        XCTAssertFalse(svg.contains("<script>"))
        let texts = ParsedSVG(svg).texts
        XCTAssertTrue(texts.contains("a < b & \"c\" > 'd'"), "\(texts)")
        XCTAssertTrue(texts.contains("</text><script>"))
        XCTAssertTrue(texts.contains("x & y") && texts.contains("<loss>"))
        XCTAssertEqual(SVGCanvas.escape("a\u{1}b\nc"), "a b c", "control characters are not allowed in XML 1.0")
    }

    func testEmptyChartDrawsEmptyAxes() {
        for chart in [
            LineChart(title: "nothing yet"),
            {
                var c = LineChart(); c.add(series: "nan", values: [.nan, .nan]); return c
            }()
        ] {
            let svg = ParsedSVG(chart.svg())
            XCTAssertTrue(svg.texts.contains("no data"), "\(svg.texts)")
            XCTAssertEqual(chart.frame.x.range, 0...1)
            XCTAssertEqual(chart.frame.y.range, 0...1)
            XCTAssertTrue(svg.all("polyline").isEmpty)
        }
        var line = LineChart()
        line.add(series: "s", values: [1, 2])
        XCTAssertFalse(ParsedSVG(line.svg()).texts.contains("no data"))
    }

    func testXTickLabelsDoNotOverlap() {
        for (upper, width) in [(123_456.0, 300.0), (0.000123, 250), (1e9, 400), (47, 560)] {
            var chart = LineChart(width: width, height: 300)
            chart.add(series: "s", points: [(0, 1), (upper, 2)])
            let frame = chart.frame
            let centres = frame.x.values.map(frame.xPixel)
            let widths = frame.x.labels.map { Style.textWidth($0, size: Style.tickSize) }
            for i in 1..<centres.count {
                XCTAssertGreaterThan(
                    centres[i] - centres[i - 1], (widths[i] + widths[i - 1]) / 2,
                    "labels \(frame.x.labels) overlap at width \(width)")
            }
        }
    }

    func testYTickLabelsDoNotOverlapOnASmallChart() {
        var chart = LineChart(title: "small", xLabel: "x", width: 300, height: 150) // a plot area 60 pixels high
        chart.logarithmicY = true
        chart.add(series: "s", values: [0.9, 0.3, 0.1, 0.03, 0.012]) // 1-2-5 ticks 0.02 … 1 on 60 pixels
        let svg = ParsedSVG(chart.svg())
        let labels = svg.all("text").filter { $0["text-anchor"] == "end" }.compactMap { Double($0["y"] ?? "") }.sorted()
        XCTAssertGreaterThanOrEqual(labels.count, 2)
        for (a, b) in zip(labels, labels.dropFirst()) { XCTAssertGreaterThanOrEqual(b - a, Style.tickSize * 1.4 - 0.01) }
        XCTAssertLessThan(labels.count, chart.frame.y.values.count, "some of the \(chart.frame.y.labels) are left out")
    }

    func testLongSeriesAreReducedToWhatThePixelsShow() {
        var chart = LineChart()
        var values = (0..<40_000).map { 1 + 0.5 * sin(Double($0) * 0.37) }
        values[24_321] = 3 // one spike must survive
        chart.add(series: "s", values: values)
        let svg = chart.svg()
        let points = ParsedSVG.points(ParsedSVG(svg).all("polyline").first?["points"])
        let frame = chart.frame
        XCTAssertLessThanOrEqual(points.count, 4 * Int(frame.right - frame.left + 2))
        XCTAssertEqual(points.map(\.y).min()!, frame.pixel(0, 3)!.y, accuracy: 0.01, "the spike is drawn")
        XCTAssertLessThan(svg.utf8.count, 200_000)
    }

    func testWriteFailureNamesThePath() {
        var chart = LineChart()
        chart.add(series: "s", values: [1, 2])
        let path = NSTemporaryDirectory() + "no-such-folder-\(UUID().uuidString)/curves.svg"
        XCTAssertThrowsError(try chart.write(to: path)) { error in
            XCTAssertEqual((error as? FileWriteError)?.path, path)
            XCTAssertEqual((error as? FileWriteError)?.kind, .missingFolder)
        }
        let good = NSTemporaryDirectory() + "chart-\(UUID().uuidString).svg"
        defer { try? FileManager.default.removeItem(atPath: good) }
        XCTAssertNoThrow(try chart.write(to: good))
        XCTAssertEqual(try? String(contentsOfFile: good, encoding: .utf8), chart.svg())
    }

    func testFigurePutsChartsSideBySide() {
        var a = LineChart(title: "loss"), b = LineChart(title: "accuracy", width: 400)
        a.add(series: "x", values: [1, 2])
        b.add(series: "y", values: [2, 1], markers: true)
        let figure = ChartFigure([a, b])
        let svg = ParsedSVG(figure.svg())
        XCTAssertEqual(svg.elements.first?.attributes["width"], "1120") // two cells as wide as the widest
        let clipIDs = svg.all("clipPath").compactMap { $0["id"] }
        XCTAssertEqual(clipIDs.count, 2)
        XCTAssertEqual(Set(clipIDs).count, 2, "clip ids must be unique in the document")
        XCTAssertEqual(svg.all("g").compactMap { $0["transform"] }, ["translate(0 0)", "translate(560 0)"])
        XCTAssertTrue(svg.texts.contains("loss") && svg.texts.contains("accuracy"))
        XCTAssertEqual(svg.all("circle").count, 2, "markers on the second chart's points")
    }
}

final class ScatterPlotTests: XCTestCase {
    func testClassesGetPaletteColoursAndLegendEntries() {
        var plot = ScatterPlot(title: "codes", xLabel: "z1", yLabel: "z2")
        let points = (0..<30).map { (x: Double($0 % 7), y: Double($0 / 3)) }
        let classes = (0..<30).map { $0 % 3 == 0 ? 2 : $0 % 3 == 1 ? 0 : 7 }
        plot.add(points: points, classes: classes, classNames: (0..<10).map { "digit \($0)" })
        XCTAssertEqual(plot.groups.map(\.name), ["digit 0", "digit 2", "digit 7"])
        XCTAssertEqual(plot.groups.map(\.points.count), [10, 10, 10])
        let svg = ParsedSVG(plot.svg())
        for name in ["digit 0", "digit 2", "digit 7", "codes", "z1", "z2"] { XCTAssertTrue(svg.texts.contains(name), name) }
        // 30 markers + 3 legend swatches, coloured by class
        let fills = svg.all("circle").map { $0["fill"] ?? "" }
        XCTAssertEqual(fills.count, 33)
        XCTAssertEqual(fills.filter { $0 == Palette.color(7) }.count, 11)
        XCTAssertEqual(Set(Palette.colors).count, 10, "ten different colours")
        // class 12 (past the palette) gets another shape: a square
        var many = ScatterPlot()
        many.add(points: [(0, 0), (1, 1)], classes: [1, 12])
        XCTAssertEqual(ParsedSVG(many.svg()).all("polygon").count, 2, "a square marker and its legend swatch")
    }

    func testLabelsAndPixelPositions() throws {
        var plot = ScatterPlot()
        plot.add(group: "words", points: [(0, 0), (10, 10), (.nan, 3)], labels: ["king", "queen & co", "lost"])
        let svg = ParsedSVG(plot.svg())
        XCTAssertTrue(svg.texts.contains("king") && svg.texts.contains("queen & co"))
        XCTAssertFalse(svg.texts.contains("lost"), "a point that is not finite is skipped with its label")
        XCTAssertFalse(svg.texts.contains("words"), "one group: no legend")
        let frame = plot.frame
        let circles = svg.all("circle")
        XCTAssertEqual(circles.count, 2)
        let corner = try XCTUnwrap(frame.pixel(10, 10))
        XCTAssertEqual(Double(circles[1]["cx"]!)!, corner.x, accuracy: 0.01)
        XCTAssertEqual(Double(circles[1]["cy"]!)!, corner.y, accuracy: 0.01)
        XCTAssertEqual(corner.x, frame.right, accuracy: 1e-9, "10 is the axis's last tick")
    }

    func testEqualScales() {
        var plot = ScatterPlot(width: 700, height: 400)
        plot.equalScales = true
        plot.add(group: "a", points: [(-1, -10), (1, 10)])
        let frame = plot.frame
        let xUnit = (frame.x.range.upperBound - frame.x.range.lowerBound) / (frame.right - frame.left)
        let yUnit = (frame.y.range.upperBound - frame.y.range.lowerBound) / (frame.bottom - frame.top)
        XCTAssertEqual(xUnit, yUnit, accuracy: yUnit * 1e-9)
        XCTAssertLessThanOrEqual(frame.y.range.lowerBound, -10)
        XCTAssertGreaterThanOrEqual(frame.y.range.upperBound, 10)
        XCTAssertGreaterThan(frame.x.range.upperBound - frame.x.range.lowerBound, 2, "x widened to keep the scales equal")
        XCTAssertTrue(ParsedSVG(ScatterPlot(title: "empty").svg()).texts.contains("no data"))
    }
}

final class SmoothingTests: XCTestCase {
    func testExponentialSmoothingIsBiasCorrected() {
        // by hand, weight 0.5: s = 0.5, 1.25, 2.125 over 1 − 0.5^t = 0.5, 0.75, 0.875
        let smoothed = Smoothing.exponential([1, 2, 3], weight: 0.5)
        XCTAssertEqual(smoothed[0], 1, accuracy: 1e-15)
        XCTAssertEqual(smoothed[1], 5.0 / 3, accuracy: 1e-15)
        XCTAssertEqual(smoothed[2], 17.0 / 7, accuracy: 1e-15)
        // a constant stays constant from the first value (no pull towards 0)
        for v in Smoothing.exponential([Double](repeating: 2.5, count: 50), weight: 0.99) { XCTAssertEqual(v, 2.5, accuracy: 1e-12) }
        // NaN passes through and does not disturb the average
        let gap = Smoothing.exponential([1, .nan, 2, 3], weight: 0.5)
        XCTAssertTrue(gap[1].isNaN)
        XCTAssertEqual(Array(gap[2...]), Array(smoothed[1...]))
        XCTAssertEqual(Smoothing.exponential([4, 8], weight: 0), [4, 8])
        let points = Smoothing.exponential([(x: 10.0, y: 1.0), (x: 20, y: 2)], weight: 0.5)
        XCTAssertEqual(points.map(\.x), [10, 20])
        XCTAssertEqual(Smoothing.weight(forCount: 500), 0.9, accuracy: 1e-12)
        XCTAssertEqual(Smoothing.weight(forCount: 10_000), 0.99, accuracy: 1e-12)
    }
}

/// The README's plotting sample (NOTES-FOR-README.md), kept compiling and writing valid SVG.
final class PlottingReadmeTests: XCTestCase {
    func testReadmeSample() throws {
        let folder = NSTemporaryDirectory() + "plotting-readme-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let previous = FileManager.default.currentDirectoryPath
        _ = FileManager.default.changeCurrentDirectoryPath(folder)
        defer { _ = FileManager.default.changeCurrentDirectoryPath(previous) }

        var chart = LineChart(title: "training", xLabel: "step", yLabel: "loss")
        let losses = [2.3, 1.1, 0.7, 0.52, 0.45, 0.41]
        chart.add(series: "every step", values: losses, lineWidth: 1, opacity: 0.3)
        chart.add(series: "smoothed", values: Smoothing.exponential(losses, weight: 0.6))
        chart.logarithmicY = true
        try chart.write(to: "loss.svg")

        var codes = ScatterPlot(title: "2-D codes", xLabel: "z₁", yLabel: "z₂")
        codes.add(
            points: [(0.1, 0.3), (1.2, -0.4), (0.9, 0.8)], classes: [0, 1, 1],
            classNames: ["zero", "one"], labels: ["a", "b", "c"])
        codes.equalScales = true
        try ChartFigure([chart, codes]).write(to: "both.svg")

        let both = ParsedSVG(try String(contentsOfFile: folder + "/both.svg", encoding: .utf8))
        for text in ["training", "smoothed", "2-D codes", "zero", "one", "a", "b", "c", "z₁"] {
            XCTAssertTrue(both.texts.contains(text), "'\(text)' missing from \(both.texts)")
        }
        _ = ParsedSVG(try String(contentsOfFile: folder + "/loss.svg", encoding: .utf8))
    }
}
