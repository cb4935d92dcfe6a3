// The finite-difference gradient checker (central differences in Double) and its report.

/// Finite-difference gradient checking, in Double, for any `Layer` or `Criterion` —
/// including your own modules.
///
/// The check builds the scalar L(x, θ) = Σ fprop(x) ⊙ R for a fixed random R (the
/// `gradOutput`), so ∂L/∂output = R, plus the `penalty` the layer reports if it is (or
/// contains) a `PenaltyReporting` module, whose gradient its bprop and grad include.
/// It compares `bprop(x, R)` with the central difference (L(x + εeᵢ) − L(x − εeᵢ)) / 2ε
/// for every input element, and each parameter's accumulated `grad` with the same
/// difference taken on that parameter.
///
/// Points where the function has a kink inside [−ε, ε] (ReLU at 0, a max-pool tie) have
/// no derivative for the difference to estimate: where the one-sided differences
/// disagree, the element is counted as skipped instead of compared.
///
/// ```swift
/// let report = GradientCheck.check(MyLayer<Double>(), input: .normal([4, 5]))
/// print(report)                   // worst absolute and relative error, and where
/// assert(report.passed)
/// ```
public enum GradientCheck {
    /// Checks `bprop` (unless `checkInput` is false) and every parameter's `grad`.
    public static func check<L: Layer>(
        _ layer: L, input: Tensor<Double>, gradOutput: Tensor<Double>? = nil,
        epsilon: Double = 1e-6, checkInput: Bool = true,
        tolerance: Tolerance = .init(), seed: UInt64 = 1
    ) -> GradientCheckReport
    where L.Scalar == Double {
        let output = layer.fprop(input)
        var rng = Random(seed: seed)
        let r = gradOutput ?? Tensor<Double>.normal(output.shape, using: &rng)
        require(r.shape == output.shape, "GradientCheck: gradOutput \(r.shape) does not match the output \(output.shape)")
        // penalty modules (L1Penalty, ContractivePenalty, GaussianSample) add their term to the objective
        let loss = { (x: Tensor<Double>) -> Double in (layer.fprop(x) * r).sum() + penalty(of: layer) }

        // analytic gradients
        layer.zeroGrad()
        _ = layer.fprop(input)
        layer.grad(input, r)
        let gradInput = layer.bprop(input, r)
        return compareAll(
            layer, input: input, gradInput: gradInput, checkInput: checkInput,
            epsilon: epsilon, tolerance: tolerance, objective: loss)
    }

    /// Compares `gradInput` (if `checkInput`) and every distinct parameter's accumulated
    /// `grad` with central differences of `objective`, the scalar being differentiated.
    static func compareAll<L: Layer>(
        _ layer: L, input: Tensor<Double>, gradInput: Tensor<Double>, checkInput: Bool,
        epsilon: Double, tolerance: Tolerance,
        objective: (Tensor<Double>) -> Double
    ) -> GradientCheckReport where L.Scalar == Double {
        var report = GradientCheckReport(tolerance: tolerance)
        if checkInput {
            var x = input
            report.entries.append(
                compare("input", analytic: gradInput, shape: input.shape, epsilon: epsilon, tolerance: tolerance) { i, delta in
                    let saved = x.scalars[i]
                    x.scalars[i] = saved + delta
                    defer { x.scalars[i] = saved }
                    return objective(x)
                })
        }
        for (name, p) in layer.distinctNamedParameters {
            report.entries.append(
                compare(name, analytic: p.grad, shape: p.value.shape, epsilon: epsilon, tolerance: tolerance) { i, delta in
                    let saved = p.value.scalars[i]
                    p.value.scalars[i] = saved + delta
                    defer { p.value.scalars[i] = saved }
                    return objective(input)
                })
        }
        return report
    }

    /// Checks a criterion's `backward` against differences of its `forward`.
    public static func check<C: Criterion>(
        _ criterion: C, input: Tensor<Double>, target: C.Target,
        epsilon: Double = 1e-6, tolerance: Tolerance = .init()
    ) -> GradientCheckReport
    where C.Scalar == Double {
        let analytic = criterion.backward(input, target)
        var x = input
        var report = GradientCheckReport(tolerance: tolerance)
        report.entries.append(
            compare("input", analytic: analytic, shape: input.shape, epsilon: epsilon, tolerance: tolerance) { i, delta in
                let saved = x.scalars[i]
                x.scalars[i] = saved + delta
                defer { x.scalars[i] = saved }
                return criterion.forward(x, target)
            })
        return report
    }

    /// Allowed disagreement: |analytic − numeric| ≤ absolute + relative · |numeric|.
    public struct Tolerance: Sendable {
        public var absolute: Double
        public var relative: Double
        public init(absolute: Double = 1e-6, relative: Double = 1e-5) {
            self.absolute = absolute
            self.relative = relative
        }
        func accepts(_ analytic: Double, _ numeric: Double) -> Bool {
            abs(analytic - numeric) <= absolute + relative * abs(numeric)
        }
    }

    /// Compares one gradient tensor with central differences of `f(index, delta)`, the
    /// loss with element `index` moved by `delta`.
    static func compare(
        _ name: String, analytic: Tensor<Double>, shape: [Int], epsilon: Double,
        tolerance: Tolerance, _ f: (Int, Double) -> Double
    ) -> GradientCheckReport.Entry {
        require(
            analytic.count == shape.reduce(1, *),
            "GradientCheck: gradient for \(name) has shape \(analytic.shape), expected \(shape)")
        var entry = GradientCheckReport.Entry(name: name, shape: shape)
        let center = f(0, 0)
        for i in 0..<analytic.count {
            let plus = f(i, epsilon), minus = f(i, -epsilon)
            let numeric = (plus - minus) / (2 * epsilon)
            let a = analytic.scalars[i]
            // a kink inside [−ε, ε]: the one-sided slopes disagree by far more than curvature explains
            let forward = (plus - center) / epsilon, backward = (center - minus) / epsilon
            if abs(forward - backward) > 1e-3 * max(1, abs(forward) + abs(backward)) && !tolerance.accepts(a, numeric) {
                entry.skippedAtKinks += 1
                continue
            }
            let absError = abs(a - numeric)
            let relError = absError / max(abs(a), abs(numeric), 1e-12)
            if absError > entry.maxAbsError {
                entry.maxAbsError = absError
                entry.worstIndex = i
                entry.worstAnalytic = a
                entry.worstNumeric = numeric
            }
            entry.maxRelError = max(entry.maxRelError, absError == 0 ? 0 : relError)
            if !tolerance.accepts(a, numeric) { entry.failures += 1 }
            entry.compared += 1
        }
        return entry
    }
}

/// What a gradient check found, per checked tensor.
public struct GradientCheckReport: CustomStringConvertible {
    public struct Entry {
        /// "input", or the parameter's name.
        public var name: String
        public var shape: [Int]
        public var maxAbsError = 0.0
        public var maxRelError = 0.0
        /// Flat index of the largest absolute error, and the two values there.
        public var worstIndex = 0
        public var worstAnalytic = 0.0
        public var worstNumeric = 0.0
        public var compared = 0
        public var failures = 0
        public var skippedAtKinks = 0

        /// The worst index as one integer per axis.
        public var worstPosition: [Int] {
            var rest = worstIndex
            return shape.reversed().map { n -> Int in
                defer { rest /= max(n, 1) }; return rest % max(n, 1)
            }.reversed()
        }
    }

    public var tolerance: GradientCheck.Tolerance
    public var entries: [Entry] = []

    init(tolerance: GradientCheck.Tolerance) { self.tolerance = tolerance }

    /// True when every compared element is within tolerance (and something was compared).
    public var passed: Bool { entries.allSatisfy { $0.failures == 0 } && entries.contains { $0.compared > 0 } }
    public var maxAbsError: Double { entries.map(\.maxAbsError).max() ?? 0 }
    public var maxRelError: Double { entries.map(\.maxRelError).max() ?? 0 }

    public var description: String {
        func e3(_ x: Double) -> String { String(format: "%.3e", x) }
        func g9(_ x: Double) -> String { String(format: "%.9g", x) }
        let lines = entries.map { e in
            "  \(e.name) \(e.shape): max abs error \(e3(e.maxAbsError)), max rel error \(e3(e.maxRelError))"
                + " at \(e.worstPosition) (analytic \(g9(e.worstAnalytic)), numeric \(g9(e.worstNumeric)))"
                + (e.failures > 0 ? ", \(e.failures) of \(e.compared) out of tolerance" : "")
                + (e.skippedAtKinks > 0 ? ", \(e.skippedAtKinks) skipped at kinks" : "")
        }
        return "GradientCheck \(passed ? "passed" : "FAILED"):\n" + lines.joined(separator: "\n")
    }
}

import Foundation
