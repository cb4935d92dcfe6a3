// Axis ticks at "nice" values (1, 2 or 5 times a power of ten), on linear and logarithmic
// scales, and their labels.
import Foundation

/// The ticks of one chart axis: the axis range (which covers the data and starts and ends
/// on a tick for a linear axis) and the tick values with their labels.
///
/// ```swift
/// let ticks = AxisTicks(covering: 0.13...0.92, targetCount: 5)
/// ticks.values   // [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
/// ticks.labels   // ["0", "0.2", "0.4", "0.6", "0.8", "1"]
/// ```
public struct AxisTicks: Equatable, Sendable {
    /// The range the axis shows.
    public let range: ClosedRange<Double>
    /// The tick positions, ascending, all inside `range`.
    public let values: [Double]
    /// One label per tick, e.g. "0.25", "1e-05", "2,000" (no grouping: "2000").
    public let labels: [String]
    /// The distance between ticks on a linear axis (1, 2 or 5 × 10^k); on a log axis the
    /// factor between ticks as a power of ten (1 for a tick per decade).
    public let step: Double
    /// Whether the axis is logarithmic (base 10).
    public let isLogarithmic: Bool
    /// Unlabelled minor ticks (2…9 × 10^k on a logarithmic axis; none on a linear one).
    public var minorValues: [Double] = []

    /// Ticks of a linear axis covering `data` with about `targetCount` intervals: the step
    /// is the smallest 1, 2 or 5 × 10^k giving at most `targetCount` intervals, and the range
    /// is extended outwards to whole steps. An empty span (one value) is widened by 10 % of
    /// the value each side (±1 around 0). Non-finite bounds are refused. `minimumStep` (e.g.
    /// 1 for epochs) keeps the ticks from getting closer than that.
    public init(covering data: ClosedRange<Double>, targetCount: Int = 6, minimumStep: Double = 0) {
        require(data.lowerBound.isFinite && data.upperBound.isFinite, "AxisTicks: the data range \(data) must be finite")
        require(targetCount >= 1, "AxisTicks: targetCount must be at least 1, got \(targetCount)")
        var (low, high) = (data.lowerBound, data.upperBound)
        if low == high {
            let pad = low == 0 ? 1 : abs(low) * 0.1
            (low, high) = (low - pad, high + pad)
        }
        let step = max(
            AxisTicks.niceStep(atLeast: (high - low) / Double(targetCount)),
            minimumStep > 0 ? AxisTicks.niceStep(atLeast: minimumStep) : 0)
        // whole steps, with a little slack so that 0.30000000000000004 does not add a tick
        let first = (low / step + 1e-9).rounded(.down), last = (high / step - 1e-9).rounded(.up)
        let count = Int(last - first)
        let values = (0...count).map { (first + Double($0)) * step }.map { abs($0) < step * 1e-9 ? 0 : $0 }
        self.range = values.first!...values.last!
        self.values = values
        self.step = step
        self.isLogarithmic = false
        self.labels = values.map { AxisTicks.label($0, step: step) }
    }

    /// Ticks of a linear axis showing exactly `range`: the nice ticks (as for
    /// `init(covering:)`) that fall inside it. For plots whose range is fixed, such as a
    /// scatter plot with equal scales on both axes.
    public init(within range: ClosedRange<Double>, targetCount: Int = 6, minimumStep: Double = 0) {
        let nice = AxisTicks(covering: range, targetCount: targetCount, minimumStep: minimumStep)
        let shown = nice.range.lowerBound == nice.range.upperBound || range.lowerBound == range.upperBound ? nice.range : range
        let inside = zip(nice.values, nice.labels).filter {
            $0.0 >= shown.lowerBound - nice.step * 1e-9 && $0.0 <= shown.upperBound + nice.step * 1e-9
        }
        self.range = shown
        self.values = inside.map(\.0)
        self.labels = inside.map(\.1)
        self.step = nice.step
        self.isLogarithmic = false
    }

    /// Ticks of a base-10 logarithmic axis showing `data` (positive bounds) with a margin of
    /// 4 % of its length (in decades) each side: a tick per decade (or per 2, 5, 10…
    /// decades when there are more than `targetCount`), with unlabelled minor ticks at 2…9
    /// times each power of ten when there are few decades; on less than two decades, ticks
    /// at 1, 2 and 5 × 10^k, and on a very short range (less than two of those inside) the
    /// linear axis's nice ticks.
    public init(logarithmic data: ClosedRange<Double>, targetCount: Int = 6) {
        require(
            data.lowerBound > 0 && data.upperBound.isFinite, "AxisTicks: a logarithmic axis needs a positive, finite range, got \(data)")
        require(targetCount >= 1, "AxisTicks: targetCount must be at least 1, got \(targetCount)")
        var low = log10(data.lowerBound), high = log10(data.upperBound)
        if high - low < 1e-9 { (low, high) = (low - 0.5, high + 0.5) }
        let pad = (high - low) * 0.04
        (low, high) = (low - pad, high + pad)
        let range = pow(10, low)...pow(10, high)
        func inside(_ v: Double) -> Bool { v >= range.lowerBound * (1 - 1e-12) && v <= range.upperBound * (1 + 1e-12) }
        let decades = Array(Int((low - 1e-9).rounded(.up))...max(Int((low - 1e-9).rounded(.up)), Int((high + 1e-9).rounded(.down))))
            .filter { inside(pow(10, Double($0))) }
        var step = 1.0, values: [Double] = [], minor: [Double] = []
        if decades.count > targetCount {
            step = AxisTicks.niceStep(atLeast: Double(decades.count) / Double(targetCount)).rounded(.up)
            values = decades.filter { Double($0).truncatingRemainder(dividingBy: step) == 0 }.map { pow(10, Double($0)) }
        } else if decades.count >= 3 {
            values = decades.map { pow(10, Double($0)) }
        } else {
            for e in Int(low.rounded(.down))...Int(high.rounded(.up)) {
                for m in [1.0, 2, 5] where inside(m * pow(10, Double(e))) { values.append(m * pow(10, Double(e))) }
            }
        }
        if values.count < 2 {
            let linear = AxisTicks(within: range, targetCount: targetCount)
            (self.range, self.values, self.labels, self.step, self.isLogarithmic, self.minorValues) = (
                range, linear.values, linear.labels, linear.step, true, []
            )
            return
        }
        if step == 1 && high - low <= 8 {
            for e in Int(low.rounded(.down))...Int(high.rounded(.up)) {
                for m in 2...9 {
                    let v = Double(m) * pow(10, Double(e))
                    if inside(v) && !values.contains(where: { abs($0 - v) <= v * 1e-9 }) { minor.append(v) }
                }
            }
        }
        self.range = range
        self.values = values
        self.minorValues = minor
        self.step = step
        self.isLogarithmic = true
        self.labels = values.map(AxisTicks.logLabel)
    }

    /// The smallest 1, 2 or 5 × 10^k that is ≥ `raw` (raw > 0).
    static func niceStep(atLeast raw: Double) -> Double {
        let magnitude = pow(10, log10(raw).rounded(.down))
        for m in [1.0, 2, 5, 10] where m * magnitude >= raw * (1 - 1e-12) { return m * magnitude }
        return 10 * magnitude
    }

    /// `value` with as many decimals as `step` needs ("0.25" for step 0.05), in exponent
    /// notation ("2e+06", "5e-05") for very large or very small steps.
    static func label(_ value: Double, step: Double) -> String {
        if value == 0 { return "0" }
        let exponent = Int(log10(step).rounded(.down))
        if step >= 1e6 || step < 1e-4 {
            let digits = max(0, Int(log10(abs(value)).rounded(.down)) - exponent)
            return String(format: "%.\(min(digits, 6))e", value)
        }
        return String(format: "%.\(max(0, -exponent))f", value)
    }

    /// A power-of-ten-based tick label: "0.001", "0.5", "20", "1e+06".
    static func logLabel(_ value: Double) -> String {
        let e = log10(value)
        if e >= -4 && e < 6 { return String(format: "%.\(max(0, -Int(e.rounded(.down))))f", value) }
        return String(format: "%.0e", value)
    }
}
