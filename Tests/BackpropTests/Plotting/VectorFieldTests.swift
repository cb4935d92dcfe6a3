// Tests of VectorField: arrows point where their vectors point and keep their relative
// lengths, the background shades low to high, bad grids are refused, the SVG parses.
@testable import Backprop
import Foundation
import XCTest

final class VectorFieldTests: XCTestCase {
    /// The arrows' shafts (the `line` elements drawn after the axes: the ones with opacity).
    private func shafts(_ svg: ParsedSVG) -> [(x1: Double, y1: Double, x2: Double, y2: Double)] {
        svg.elements.filter { $0.name == "line" && $0.attributes["stroke-opacity"] != nil }.map {
            (Double($0.attributes["x1"]!)!, Double($0.attributes["y1"]!)!, Double($0.attributes["x2"]!)!, Double($0.attributes["y2"]!)!)
        }
    }

    func testArrowsPointAlongTheirVectorsWithRelativeLengths() throws {
        var field = VectorField(x: -1...1, y: -1...1, width: 400, height: 400)
        field.arrowLength = 30
        field.add(arrows: [(x: 0, y: 0, dx: 1, dy: 0), (x: 0.5, y: 0.5, dx: 0, dy: 0.5), (x: -0.5, y: -0.5, dx: .nan, dy: 0)])
        let svg = ParsedSVG(field.svg())
        let lines = shafts(svg)
        XCTAssertEqual(lines.count, 2, "the NaN arrow is skipped")
        let frame = field.frame
        // first arrow: from the centre to the right, longest: shaft + head = 30 pixels
        XCTAssertEqual(lines[0].x1, frame.xPixel(0), accuracy: 0.01)
        XCTAssertEqual(lines[0].y1, frame.yPixel(0), accuracy: 0.01)
        XCTAssertGreaterThan(lines[0].x2, lines[0].x1 + 20)
        XCTAssertEqual(lines[0].y2, lines[0].y1, accuracy: 0.01)
        // second arrow: upwards (smaller pixel y), half as long
        XCTAssertEqual(lines[1].x2, lines[1].x1, accuracy: 0.01)
        XCTAssertLessThan(lines[1].y2, lines[1].y1)
        let length0 = lines[0].x2 - lines[0].x1 + 4.5, length1 = lines[1].y1 - lines[1].y2 + 4.5 // (+ the heads)
        XCTAssertEqual(length0, 30, accuracy: 0.05)
        // (in pixels: the plot area need not be square)
        let perUnitX = (frame.right - frame.left) / 2, perUnitY = (frame.bottom - frame.top) / 2
        XCTAssertEqual(length1 / length0, 0.5 * perUnitY / perUnitX, accuracy: 0.002)
    }

    func testBackgroundShadesFromLowToHighWithAColourBar() {
        var field = VectorField(x: 0...2, y: 0...1)
        field.setBackground(values: [0, 1], columns: 2, rows: 1, label: "E(x)")
        let svg = ParsedSVG(field.svg())
        let fills = svg.elements.filter { $0.name == "rect" }.compactMap { $0.attributes["fill"] }
        XCTAssertTrue(fills.contains(VectorField.shade(0)) && fills.contains(VectorField.shade(1)))
        XCTAssertNotEqual(VectorField.shade(0), VectorField.shade(1))
        XCTAssertEqual(VectorField.shade(0), "#ffffd9")
        XCTAssertEqual(VectorField.shade(1), "#1d91c0")
        XCTAssertTrue(svg.texts.contains("E(x)"))
        XCTAssertTrue(svg.texts.contains("0") && svg.texts.contains("1"), "the colour bar's ends: \(svg.texts)")
        // the low cell is left of the high one
        let cells = svg.elements.filter {
            $0.name == "rect" && [VectorField.shade(0), VectorField.shade(1)].contains($0.attributes["fill"] ?? "")
        }
        XCTAssertLessThan(
            Double(cells.first { $0.attributes["fill"] == VectorField.shade(0) }!.attributes["x"]!)!,
            Double(cells.first { $0.attributes["fill"] == VectorField.shade(1) }!.attributes["x"]!)!)
    }

    func testPointsAreDrawnAndItComposesInAFigure() {
        var field = VectorField(title: "field", x: -1...1, y: -1...1)
        field.add(points: [(x: 0, y: 0), (x: .infinity, y: 0)], name: "data")
        let svg = ParsedSVG(field.svg())
        XCTAssertEqual(svg.elements.filter { $0.name == "circle" }.count, 2, "one point (the infinite one skipped) and its legend dot")
        XCTAssertTrue(svg.texts.contains("data") && svg.texts.contains("field"))
        let figure = ParsedSVG(ChartFigure([field, field]).svg())
        XCTAssertEqual(figure.elements.first?.attributes["width"], "1280")
    }
}
