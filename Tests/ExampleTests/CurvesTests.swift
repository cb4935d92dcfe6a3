// The training curves: tiny runs of the examples write a well-formed `<example>-curves.svg`
// in --out, a figure that cannot be written does not stop --save, and the Curves recorder.
import Backprop
import ExampleSupport
import Foundation
#if canImport(FoundationXML)
    import FoundationXML
#endif
import XCTest

/// The `<text>` contents of the SVG at `path` and its polyline count; fails the test if the
/// file is missing or not well-formed XML with an `<svg>` root.
func svgTexts(_ path: String, file: StaticString = #filePath, line: UInt = #line) -> (texts: [String], polylines: Int) {
    guard let data = FileManager.default.contents(atPath: path) else {
        XCTFail("\(path) was not written", file: file, line: line)
        return ([], 0)
    }
    final class Collector: NSObject, XMLParserDelegate {
        var root: String?, texts: [String] = [], polylines = 0, inText = false
        func parser(
            _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
            attributes: [String: String] = [:]
        ) {
            if root == nil { root = name }
            if name == "polyline" { polylines += 1 }
            if name == "text" { inText = true; texts.append("") }
        }
        func parser(_ parser: XMLParser, foundCharacters string: String) { if inText { texts[texts.count - 1] += string } }
        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            if name == "text" { inText = false }
        }
    }
    let parser = XMLParser(data: data)
    let collector = Collector()
    parser.delegate = collector
    XCTAssertTrue(
        parser.parse() && parser.parserError == nil, "\(path) is not well-formed: \(String(describing: parser.parserError))",
        file: file, line: line)
    XCTAssertEqual(collector.root, "svg", file: file, line: line)
    return (collector.texts, collector.polylines)
}

extension ExampleRunTests {
    func testTinyRunsWriteTheirTrainingCurves() throws {
        let data = try writeMNIST()
        let mlp = try run("mnist-mlp", self.mlp + ["--epochs", "2", "--data", data, "--out", path("figures")])
        XCTAssertEqual(mlp.status, 0, mlp.stderr)
        XCTAssertTrue(mlp.stdout.contains("wrote \(path("figures/mnist-mlp-curves.svg"))"), mlp.stdout)
        let curves = svgTexts(path("figures/mnist-mlp-curves.svg"))
        for text in ["mnist-mlp: training loss", "step", "every step", "smoothed", "test accuracy (%)", "epoch"] {
            XCTAssertTrue(curves.texts.contains(text), "'\(text)' missing from \(curves.texts)")
        }
        XCTAssertGreaterThanOrEqual(curves.polylines, 3, "raw loss, smoothed loss, test accuracy")

        // two runs in one figure
        let stacked = try run(
            "stacked-autoencoder",
            [
                "--data", data, "--sizes", "784,16", "--pretrain-epochs", "1", "--epochs", "1",
                "--threads", "1", "--out", path("figures")
            ])
        XCTAssertEqual(stacked.status, 0, stacked.stderr)
        let both = svgTexts(path("figures/stacked-autoencoder-curves.svg")).texts
        for text in ["pretrained, smoothed", "random init, smoothed", "pretrained, test accuracy", "random init, test accuracy"] {
            XCTAssertTrue(both.contains(text), "'\(text)' missing from \(both)")
        }

        // an autoencoder's curves are named by its kind, like its other figures
        let ae = try run(
            "autoencoder",
            [
                "--data", data, "--kind", "plain", "--hidden", "8", "--epochs", "1", "--threads", "1",
                "--out", path("figures")
            ])
        XCTAssertEqual(ae.status, 0, ae.stderr)
        XCTAssertTrue(svgTexts(path("figures/autoencoder-plain-curves.svg")).texts.contains("test cross-entropy (nats per digit)"))

        // an example without TrainingLoop: the validation loss every --eval-every steps
        let text = String(repeating: "To be, or not to be: that is the question. ", count: 40)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path("text.txt")))
        let lstm = try run(
            "char-lstm",
            [
                "--text", path("text.txt"), "--steps", "4", "--eval-every", "2", "--seq", "10", "--batch", "4",
                "--hidden", "8", "--embedding", "4", "--sample-length", "5", "--threads", "1", "--out", path("figures")
            ])
        XCTAssertEqual(lstm.status, 0, lstm.stderr)
        let lstmTexts = svgTexts(path("figures/char-lstm-curves.svg")).texts
        XCTAssertTrue(lstmTexts.contains("validation") && lstmTexts.contains("nats/char"), "\(lstmTexts)")
    }

    func testEveryTrainingExampleWritesItsCurves() throws {
        let data = try writeMNIST(train: 16, test: 8)
        let runs: [(String, [String], String)] = [
            ("mnist-convnet", ["--batch", "8"], "mnist-convnet-curves.svg"),
            ("mnist-resnet", ["--batch", "8", "--shift", "0"], "mnist-resnet-curves.svg"),
            ("sequential-mnist", ["--batch", "8", "--hidden", "8"], "sequential-mnist-curves.svg"),
            ("deep-autoencoder", ["--batch", "8", "--code", "4"], "deep-autoencoder-curves.svg"),
            ("vae", ["--batch", "8", "--hidden", "16", "--latent", "2"], "vae-k2-curves.svg")
        ]
        for (program, arguments, figure) in runs {
            let result = try run(program, ["--data", data, "--epochs", "2", "--threads", "1", "--out", path("curves")] + arguments)
            XCTAssertEqual(result.status, 0, "\(program): \(result.stderr)")
            let svg = svgTexts(path("curves/" + figure))
            XCTAssertTrue(svg.texts.contains("smoothed") && svg.texts.contains("epoch"), "\(program): \(svg.texts)")
            XCTAssertGreaterThanOrEqual(svg.polylines, 3, "\(program): the loss, raw and smoothed, and the evaluation")
        }
    }

    func testCurvesThatCannotBeWrittenDoNotStopSave() throws {
        let data = try writeMNIST()
        try FileManager.default.createDirectory(atPath: path("figures/mnist-mlp-curves.svg"), withIntermediateDirectories: true)
        let result = try run("mnist-mlp", mlp + ["--data", data, "--out", path("figures"), "--save", path("m.safetensors")])
        assertFails(result, status: 1, "figure \(path("figures/mnist-mlp-curves.svg")) not written", "could not be written")
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("m.safetensors")), "--save must not depend on the figure")
        assertFails(
            try run("mnist-mlp", mlp + ["--data", data, "--out", path("m.safetensors/figures")]), status: 2,
            "--out \(path("m.safetensors/figures")): '\(path("m.safetensors"))' exists and is not a directory")
    }
}

final class CurvesRecorderTests: XCTestCase {
    func testTheFigureHasTheLossAndTheMetrics() {
        let curves = Curves(name: "demo")
        XCTAssertTrue(curves.isEmpty)
        for step in 1...300 { curves.record(step: step, loss: 2.3 * exp(-Double(step) / 40) + 0.01) } // falls 100-fold
        curves.record(metric: "test accuracy", value: 91, unit: "%", at: 1)
        curves.record(metric: "test accuracy", value: 95, unit: "%", at: 2)
        curves.record(metric: "validation accuracy", value: 94, unit: "%", at: 2)
        XCTAssertFalse(curves.isEmpty)
        let figure = curves.figure
        XCTAssertEqual(figure.charts.count, 2)
        let loss = figure.charts[0] as! LineChart, metric = figure.charts[1] as! LineChart
        XCTAssertEqual(loss.series.map(\.name), ["every step", "smoothed"])
        XCTAssertTrue(loss.logarithmicY, "a loss falling 100-fold is drawn on a log axis")
        XCTAssertLessThan(loss.series[0].opacity, loss.series[1].opacity, "the raw losses are light, the smoothed strong")
        XCTAssertEqual(metric.series.map(\.name), ["test accuracy", "validation accuracy"])
        XCTAssertEqual(metric.series[0].points.map(\.y), [91, 95])
        XCTAssertEqual(metric.yLabel, "%")
        XCTAssertNotEqual(metric.series[0].color, metric.series[1].color)

        let flat = Curves(name: "flat")
        for step in 1...50 { flat.record(step: step, loss: 100 - Double(step) / 10) }
        XCTAssertFalse((flat.figure.charts[0] as! LineChart).logarithmicY)
        XCTAssertEqual((flat.figure.charts[1] as! LineChart).series.count, 0)
    }
}
