// A small SVG 1.1 writer: the shapes and text the charts draw, XML escaping, compact
// number formatting, and writing the document atomically.
import Foundation

/// An SVG 1.1 document being drawn: shapes and text appended in painting order (later on
/// top), y downwards from the top-left corner, lengths in pixels. The charts draw into one;
/// it can also be used directly.
///
/// ```swift
/// var canvas = SVGCanvas(width: 200, height: 100)
/// canvas.line(from: (10, 90), to: (190, 10), stroke: "#1f77b4", width: 2)
/// canvas.text("a < b & c", at: (100, 50), size: 12, anchor: .middle)   // escaped for XML
/// try canvas.write(to: "line.svg")
/// ```
public struct SVGCanvas: Sendable {
    /// Horizontal alignment of a text on its point.
    public enum TextAnchor: String, Sendable {
        case start, middle, end
    }

    /// The font the charts use: one a browser and rsvg find on any system.
    public static let fontFamily = "DejaVu Sans, Helvetica, Arial, sans-serif"

    /// The document's size in pixels.
    public let width: Double, height: Double
    private var body: [String] = []

    /// An empty document of `width` × `height` pixels, with a white background unless
    /// `background` is nil.
    public init(width: Double, height: Double, background: String? = "#ffffff") {
        require(
            width > 0 && height > 0 && width.isFinite && height.isFinite,
            "SVGCanvas: the size must be positive and finite, got \(width)×\(height)")
        (self.width, self.height) = (width, height)
        if let background { rectangle(x: 0, y: 0, width: width, height: height, fill: background) }
    }

    /// A straight line; `crisp` asks for sharp pixel edges (grid lines and axes).
    public mutating func line(
        from a: (x: Double, y: Double), to b: (x: Double, y: Double), stroke: String,
        width: Double = 1, opacity: Double = 1, dash: String? = nil, crisp: Bool = false
    ) {
        body.append(
            "<line x1=\"\(n(a.x))\" y1=\"\(n(a.y))\" x2=\"\(n(b.x))\" y2=\"\(n(b.y))\" stroke=\"\(escaped(stroke))\""
                + " stroke-width=\"\(n(width))\"\(opacityAttribute("stroke-opacity", opacity))\(dash.map { " stroke-dasharray=\"\(escaped($0))\"" } ?? "")"
                + "\(crisp ? " shape-rendering=\"crispEdges\"" : "")/>")
    }

    /// A connected line through `points` (nothing for fewer than 2; a single point is drawn
    /// as a dot of the line's width).
    public mutating func polyline(
        _ points: [(x: Double, y: Double)], stroke: String, width: Double = 1.5,
        opacity: Double = 1, clipID: String? = nil
    ) {
        if points.count == 1 {
            circle(center: points[0], radius: width, fill: stroke, opacity: opacity, clipID: clipID)
            return
        }
        guard points.count >= 2 else { return }
        let coordinates = points.map { "\(n($0.x)),\(n($0.y))" }.joined(separator: " ")
        body.append(
            "<polyline points=\"\(coordinates)\" fill=\"none\" stroke=\"\(escaped(stroke))\" stroke-width=\"\(n(width))\""
                + " stroke-linejoin=\"round\" stroke-linecap=\"round\"\(opacityAttribute("stroke-opacity", opacity))\(clip(clipID))/>")
    }

    /// A rectangle, filled and/or outlined (`crisp`: sharp pixel edges).
    public mutating func rectangle(
        x: Double, y: Double, width: Double, height: Double, fill: String? = nil,
        stroke: String? = nil, strokeWidth: Double = 1, opacity: Double = 1, crisp: Bool = false
    ) {
        body.append(
            "<rect x=\"\(n(x))\" y=\"\(n(y))\" width=\"\(n(width))\" height=\"\(n(height))\""
                + " fill=\"\(escaped(fill ?? "none"))\"\(stroke.map { " stroke=\"\(escaped($0))\" stroke-width=\"\(n(strokeWidth))\"" } ?? "")"
                + "\(opacityAttribute("opacity", opacity))\(crisp ? " shape-rendering=\"crispEdges\"" : "")/>")
    }

    /// A filled circle (a scatter plot's marker).
    public mutating func circle(
        center: (x: Double, y: Double), radius: Double, fill: String, opacity: Double = 1,
        stroke: String? = nil, clipID: String? = nil
    ) {
        body.append(
            "<circle cx=\"\(n(center.x))\" cy=\"\(n(center.y))\" r=\"\(n(radius))\" fill=\"\(escaped(fill))\""
                + "\(stroke.map { " stroke=\"\(escaped($0))\" stroke-width=\"0.5\"" } ?? "")\(opacityAttribute("fill-opacity", opacity))\(clip(clipID))/>"
        )
    }

    /// A filled polygon (square and triangle markers).
    public mutating func polygon(_ points: [(x: Double, y: Double)], fill: String, opacity: Double = 1, clipID: String? = nil) {
        let coordinates = points.map { "\(n($0.x)),\(n($0.y))" }.joined(separator: " ")
        body.append(
            "<polygon points=\"\(coordinates)\" fill=\"\(escaped(fill))\"\(opacityAttribute("fill-opacity", opacity))\(clip(clipID))/>")
    }

    /// A text, escaped for XML; `rotation` in degrees, clockwise, around the text's point.
    public mutating func text(
        _ string: String, at point: (x: Double, y: Double), size: Double = 12,
        anchor: TextAnchor = .start, color: String = "#222222", bold: Bool = false, rotation: Double = 0
    ) {
        let rotate = rotation == 0 ? "" : " transform=\"rotate(\(n(rotation)) \(n(point.x)) \(n(point.y)))\""
        body.append(
            "<text x=\"\(n(point.x))\" y=\"\(n(point.y))\" font-family=\"\(SVGCanvas.fontFamily)\" font-size=\"\(n(size))\""
                + " text-anchor=\"\(anchor.rawValue)\" fill=\"\(escaped(color))\"\(bold ? " font-weight=\"bold\"" : "")\(rotate)>\(escaped(string))</text>"
        )
    }

    /// Declares a rectangular clip region named `id`, for the shapes drawn with `clipID: id`.
    public mutating func clipRectangle(id: String, x: Double, y: Double, width: Double, height: Double) {
        body.append(
            "<defs><clipPath id=\"\(escaped(id))\"><rect x=\"\(n(x))\" y=\"\(n(y))\" width=\"\(n(width))\" height=\"\(n(height))\"/></clipPath></defs>"
        )
    }

    /// Starts a group whose contents are moved by (`dx`, `dy`); close it with `endGroup()`.
    public mutating func beginGroup(translatedBy dx: Double, _ dy: Double) {
        body.append("<g transform=\"translate(\(n(dx)) \(n(dy)))\">")
    }

    /// Ends the group `beginGroup` started.
    public mutating func endGroup() { body.append("</g>") }

    /// The document as SVG 1.1 text (UTF-8, with the XML declaration).
    public var document: String {
        """
        <?xml version="1.0" encoding="UTF-8" standalone="no"?>
        <svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="\(n(width))" height="\(n(height))" viewBox="0 0 \(n(width)) \(n(height))">

        """ + body.joined(separator: "\n") + "\n</svg>\n"
    }

    /// Writes the document to `path` atomically (see `AtomicFile`); throws a
    /// `FileWriteError` naming the path.
    public func write(to path: String) throws {
        try AtomicFile.write(Array(document.utf8), to: path)
    }

    // MARK: Formatting

    /// `text` with the five XML special characters escaped (and control characters, which
    /// XML 1.0 does not allow, replaced by a space).
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n", "\r": out += " "
            default:
                if scalar.value < 0x20 || (0xFFFE...0xFFFF).contains(scalar.value) { out += " " } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out
    }

    private func escaped(_ text: String) -> String { SVGCanvas.escape(text) }

    /// A coordinate with at most 2 decimals and no trailing zeros ("12", "3.5", "0.25").
    static func number(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        let rounded = (value * 100).rounded() / 100
        if rounded == rounded.rounded() && abs(rounded) < 1e15 { return String(Int(rounded)) }
        var text = String(format: "%.2f", rounded)
        while text.hasSuffix("0") { text.removeLast() }
        return text
    }

    private func n(_ value: Double) -> String { SVGCanvas.number(value) }

    private func opacityAttribute(_ name: String, _ value: Double) -> String {
        value >= 1 ? "" : " \(name)=\"\(n(max(0, value)))\""
    }

    private func clip(_ id: String?) -> String { id.map { " clip-path=\"url(#\(escaped($0)))\"" } ?? "" }
}
