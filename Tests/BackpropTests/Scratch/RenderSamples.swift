import Backprop
import Foundation
import XCTest

final class RenderSamples: XCTestCase {
    func testRenderSamples() throws {
        let dir = "/tmp/tk-plot-samples/"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var rng = Random(seed: 3)
        func gauss() -> Double { Double(Tensor<Double>.normal([1], using: &rng).scalars[0]) }
        var plot = ScatterPlot(title: "2-D codes of 2,000 test digits", xLabel: "z₁", yLabel: "z₂")
        var pts: [(x: Double, y: Double)] = [], cls: [Int] = []
        for i in 0..<2000 { let c = i % 10; let a = Double(c) / 10 * 2 * Double.pi
            pts.append((3 * cos(a) + gauss() * 0.7, 3 * sin(a) + gauss() * 0.7)); cls.append(c) }
        plot.add(points: pts, classes: cls, classNames: (0..<10).map { "digit \($0)" })
        plot.markerSize = 2.5
        plot.markerOpacity = 0.6
        plot.equalScales = true
        try plot.write(to: dir + "scatter.svg")
        var words = ScatterPlot(title: "word vectors (PCA)", xLabel: "PC 1", yLabel: "PC 2", width: 560, height: 420)
        let names = ["king", "queen", "man", "woman", "paris", "france", "rome", "italy", "<unk>", "&c"]
        words.add(group: "people", points: (0..<4).map { _ in (gauss(), gauss()) }, labels: Array(names[0..<4]))
        words.add(group: "places", points: (0..<4).map { _ in (gauss() + 2, gauss()) }, labels: Array(names[4..<8]))
        words.add(group: "other", points: (0..<2).map { _ in (gauss(), gauss() - 2) }, labels: Array(names[8..<10]))
        words.markerSize = 4
        try words.write(to: dir + "words.svg")
        var line = LineChart(title: "gaps and log", xLabel: "x", yLabel: "y")
        line.logarithmicY = true
        line.add(series: "a", values: (1...200).map { $0 == 50 ? .nan : 100 * exp(-Double($0) / 30) + 0.5 })
        line.add(series: "b", values: (1...200).map { 50 * exp(-Double($0) / 60) + 1 }, markers: false)
        try line.write(to: dir + "line.svg")
    }
}
