// Stopping a training run that diverged: checks for non-finite losses, gradient norms and
// parameters, and their error.

/// Detecting a training run that has diverged: a loss, gradient norm or parameter that
/// is no longer a finite number. Once a NaN or an infinity appears it spreads to every
/// weight within a step or two, and whatever the run writes afterwards is garbage; the
/// checks below stop it at the first sign, naming where and what.
///
/// ```swift
/// for (step, (x, y)) in batches.enumerated() {
///     let value = loss.forward(model.fprop(x), y)
///     try Divergence.check(loss: Double(value), step: step + 1, epoch: epoch)   // one isFinite
///     ...
/// }
/// try Divergence.check(model)                     // once per epoch: every parameter finite
/// ```

/// A training run that produced a non-finite number.
public struct DivergenceError: Error, CustomStringConvertible, Equatable {
    /// What was not finite: "the loss", "the gradient norm", or "parameter 0.weight".
    public let quantity: String
    /// The offending value (NaN, +∞ or −∞).
    public let value: Double
    /// The step (1-based) at which it was seen, if known.
    public let step: Int?
    /// The epoch (1-based) at which it was seen, if known.
    public let epoch: Int?

    public init(quantity: String, value: Double, step: Int? = nil, epoch: Int? = nil) {
        self.quantity = quantity
        self.value = value
        self.step = step
        self.epoch = epoch
    }

    /// "training diverged: the loss is nan at step 12 (epoch 1)".
    public var description: String {
        let place = [epoch.map { "epoch \($0)" }, step.map { "step \($0)" }].compactMap { $0 }.joined(separator: ", ")
        return "training diverged: \(quantity) is \(value)" + (place.isEmpty ? "" : " (\(place))")
    }
}

/// The divergence checks (see the top of Divergence.swift).
public enum Divergence {
    /// Throws a `DivergenceError` if `loss` is NaN or infinite. Costs one comparison.
    @inlinable
    public static func check(loss: Double, step: Int? = nil, epoch: Int? = nil) throws {
        if !loss.isFinite { throw DivergenceError(quantity: "the loss", value: loss, step: step, epoch: epoch) }
    }

    /// Throws if `norm` (e.g. the norm `Optimizer.clipGradients` returns) is not finite.
    @inlinable
    public static func check(gradientNorm norm: Double, step: Int? = nil, epoch: Int? = nil) throws {
        if !norm.isFinite { throw DivergenceError(quantity: "the gradient norm", value: norm, step: step, epoch: epoch) }
    }

    /// Throws naming the first parameter of `layer` (by its PyTorch name) that holds a
    /// NaN or an infinity. Reads every weight once: call it per epoch, not per step.
    public static func check<L: Layer>(_ layer: L, step: Int? = nil, epoch: Int? = nil) throws {
        if let (name, value) = firstNonFinite(in: layer) {
            throw DivergenceError(quantity: "parameter \(name)", value: value, step: step, epoch: epoch)
        }
    }

    /// The name of the first parameter of `layer` holding a non-finite value, and that
    /// value; nil if all are finite.
    public static func firstNonFinite<L: Layer>(in layer: L) -> (name: String, value: Double)? {
        for (name, parameter) in layer.namedParameters {
            if let value = parameter.value.firstNonFinite { return (name, value) }
        }
        return nil
    }
}

extension Layer {
    /// True if every parameter value is a finite number (no NaN, no infinity).
    public var parametersAreFinite: Bool { Divergence.firstNonFinite(in: self) == nil }
}

extension Tensor {
    /// The first element that is NaN or infinite, as a Double; nil if all are finite.
    public var firstNonFinite: Double? {
        withUnsafePointer { p in
            for i in 0..<count where !Double(p[i]).isFinite { return Double(p[i]) }
            return nil
        }
    }
}
