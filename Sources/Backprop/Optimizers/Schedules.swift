// Learning-rate schedules (per step and per epoch) and reduce-on-plateau, which the
// optimizer advances itself: `step()` counts the steps, the schedule reads the count.

import Foundation

/// How the learning rate changes during training, as a function of the optimizer's step
/// count. `Optimizer.step()` advances it: step number `s` (0-based, the `s + 1`-th call)
/// uses `rate(base:step:stepsPerEpoch:)` at `s`.
///
/// Per-step schedules (`warmupCosine`, `oneCycle`) read the step directly. Per-epoch
/// schedules (`step`, `exponential`, `cosine`) read the epoch, which the optimizer derives
/// from the step count and its `stepsPerEpoch` (epoch = ⌊s / stepsPerEpoch⌋); an
/// optimizer with a per-epoch schedule and no `stepsPerEpoch` stops with a message at
/// its first step, rather than silently keeping the rate constant.
///
/// ```swift
/// // 5 epochs of 469 batches: 300 steps of warm-up, then cosine down to 1e-4
/// let sgd = SGD(model.parameters, learningRate: 0.1, momentum: 0.9,
///               schedule: .warmupCosine(warmup: 300, total: 5 * 469, minimum: 1e-4))
/// // per epoch: tell the optimizer how many steps an epoch has
/// let adam = Adam(model.parameters, schedule: .cosine(epochs: 10, minimum: 0))
/// adam.stepsPerEpoch = 469
/// ```
public enum LearningRateSchedule: Equatable, Sendable {
    /// Always the base rate.
    case constant
    /// Per epoch: multiplied by `gamma` every `every` epochs (PyTorch's StepLR).
    case step(every: Int, gamma: Double)
    /// Per epoch: multiplied by `gamma` every epoch (PyTorch's ExponentialLR).
    case exponential(gamma: Double)
    /// Per epoch: cosine annealing from the base rate to `minimum` over `epochs` epochs,
    /// then `minimum` (PyTorch's CosineAnnealingLR, eta_min = minimum, T_max = epochs).
    case cosine(epochs: Int, minimum: Double)
    /// Per step: linear warm-up over the first `warmup` steps, base · (s + 1) / warmup, so
    /// the first step already moves and step `warmup − 1` runs at the base rate; then
    /// cosine from the base rate at step `warmup` to `minimum` at step `total`:
    /// minimum + (base − minimum) · (1 + cos(π (s − warmup) / (total − warmup))) / 2;
    /// `minimum` from step `total` on.
    case warmupCosine(warmup: Int, total: Int, minimum: Double = 0)
    /// Per step: PyTorch's OneCycleLR (two phases, cosine annealing) with the base rate as
    /// max_lr: from base / divFactor up to base over the first pctStart · total steps, then
    /// down to base / (divFactor · finalDivFactor) at step total − 1 (and after). The
    /// learning rate only: momentum is not cycled (OneCycleLR's cycle_momentum=False).
    case oneCycle(total: Int, pctStart: Double = 0.3, divFactor: Double = 25, finalDivFactor: Double = 1e4)

    /// Whether the schedule reads the epoch (and so needs the optimizer's `stepsPerEpoch`).
    public var isPerEpoch: Bool {
        switch self {
        case .step, .exponential, .cosine: return true
        case .constant, .warmupCosine, .oneCycle: return false
        }
    }

    /// Checks the schedule's numbers (called by the optimizers' initialisers).
    func validate(_ owner: String) {
        switch self {
        case .constant: break
        case let .step(every, gamma):
            require(
                every > 0 && gamma > 0 && gamma.isFinite,
                "\(owner): schedule .step needs every > 0 and gamma > 0, got every \(every), gamma \(gamma)")
        case let .exponential(gamma):
            require(gamma > 0 && gamma.isFinite, "\(owner): schedule .exponential needs gamma > 0, got \(gamma)")
        case let .cosine(epochs, minimum):
            require(
                epochs > 0 && minimum >= 0,
                "\(owner): schedule .cosine needs epochs > 0 and minimum >= 0, got epochs \(epochs), minimum \(minimum)")
        case let .warmupCosine(warmup, total, minimum):
            require(
                warmup >= 0 && total > warmup && minimum >= 0,
                "\(owner): schedule .warmupCosine needs 0 <= warmup < total and minimum >= 0, got warmup \(warmup), total \(total), minimum \(minimum)"
            )
        case let .oneCycle(total, pctStart, divFactor, finalDivFactor):
            require(
                total > 1 && pctStart > 0 && pctStart < 1 && divFactor > 0 && finalDivFactor > 0,
                "\(owner): schedule .oneCycle needs total > 1, 0 < pctStart < 1, divFactor > 0 and finalDivFactor > 0, got total \(total), pctStart \(pctStart), divFactor \(divFactor), finalDivFactor \(finalDivFactor)"
            )
            require(
                pctStart * Double(total) - 1 > 0 && pctStart * Double(total) < Double(total - 1),
                "\(owner): schedule .oneCycle: pctStart \(pctStart) of \(total) steps leaves a phase of no steps")
        }
    }

    /// The rate at epoch `epoch` (0-based) for a per-epoch schedule (a per-step schedule
    /// reads `epoch` as its step here).
    public func rate(base: Double, epoch: Int) -> Double {
        rate(base: base, step: epoch, epoch: epoch)
    }

    /// The rate for step `step` (0-based) with `stepsPerEpoch` steps per epoch (only
    /// per-epoch schedules need it).
    public func rate(base: Double, step: Int, stepsPerEpoch: Int?) -> Double {
        rate(base: base, step: step, epoch: stepsPerEpoch.map { step / max($0, 1) } ?? 0)
    }

    func rate(base: Double, step s: Int, epoch: Int) -> Double {
        switch self {
        case .constant:
            return base
        case let .step(every, gamma):
            return base * Foundation.pow(gamma, Double(epoch / max(every, 1)))
        case let .exponential(gamma):
            return base * Foundation.pow(gamma, Double(epoch))
        case let .cosine(epochs, minimum):
            let t = min(Double(epoch) / Double(max(epochs, 1)), 1)
            return minimum + (base - minimum) * (1 + Foundation.cos(Double.pi * t)) / 2
        case let .warmupCosine(warmup, total, minimum):
            if s < warmup { return base * Double(s + 1) / Double(warmup) }
            if s >= total { return minimum }
            let t = Double(s - warmup) / Double(total - warmup)
            return minimum + (base - minimum) * (1 + Foundation.cos(Double.pi * t)) / 2
        case let .oneCycle(total, pctStart, divFactor, finalDivFactor):
            // OneCycleLR: phase ends at pct_start·total − 1 and total − 1 (floats, as there)
            let initial = base / divFactor, final = initial / finalDivFactor
            let end1 = pctStart * Double(total) - 1, end2 = Double(total - 1)
            let step = Double(min(s, total - 1))
            func anneal(_ start: Double, _ end: Double, _ pct: Double) -> Double {
                end + (start - end) / 2.0 * (Foundation.cos(Double.pi * pct) + 1)
            }
            if step <= end1 { return anneal(initial, base, step / end1) }
            return anneal(base, final, (step - end1) / (end2 - end1))
        }
    }
}

/// PyTorch's ReduceLROnPlateau: once per epoch the optimizer is shown a validation metric
/// (`optimizer.observe(metric:)`); when it has not improved for more than `patience`
/// epochs, the learning rate is multiplied by `factor` (not below `minimum`), then
/// `cooldown` epochs pass before bad epochs count again.
///
/// An improvement is, in mode `.min` with relative threshold, metric < best · (1 − threshold)
/// (`.max`: metric > best · (1 + threshold); absolute: best ∓ threshold). A reduction
/// smaller than 1e-8 is skipped, as in PyTorch. The factor multiplies whatever `schedule`
/// gives: with the default `.constant` schedule the rate is PyTorch's exactly.
///
/// Its state (best, bad epochs, cooldown, the factor so far) is part of the optimizer's
/// checkpoint.
public struct ReduceOnPlateau: Equatable, Sendable {
    /// Whether a smaller (`.min`, a loss) or a larger (`.max`, an accuracy) metric is better.
    public enum Mode: String, Sendable { case min, max }
    /// How `threshold` compares with the best value: relative (`.relative`) or absolute.
    public enum ThresholdMode: String, Sendable { case relative = "rel", absolute = "abs" }

    /// Whether the metric should fall (a loss) or rise (an accuracy).
    public var mode: Mode
    /// Multiplies the rate at each reduction (in (0, 1)).
    public var factor: Double
    /// Epochs without improvement tolerated before a reduction.
    public var patience: Int
    /// How much better than the best a metric must be to count as an improvement.
    public var threshold: Double
    /// Whether `threshold` is relative to the best value or absolute.
    public var thresholdMode: ThresholdMode
    /// Epochs after a reduction during which bad epochs are not counted.
    public var cooldown: Int
    /// The rate never goes below this through reductions.
    public var minimum: Double

    /// The best metric seen (±∞ before the first).
    public internal(set) var best: Double
    /// Epochs since the last improvement.
    public internal(set) var badEpochs = 0
    /// Cooldown epochs left.
    public internal(set) var cooldownLeft = 0
    /// Metrics observed so far.
    public internal(set) var epochs = 0
    /// The product of the reductions so far (1 before the first).
    public internal(set) var scale = 1.0

    /// PyTorch's defaults: mode min, factor 0.1, patience 10, relative threshold 1e-4, no
    /// cooldown, minimum 0.
    public init(
        mode: Mode = .min, factor: Double = 0.1, patience: Int = 10, threshold: Double = 1e-4,
        thresholdMode: ThresholdMode = .relative, cooldown: Int = 0, minimum: Double = 0
    ) {
        require(factor > 0 && factor < 1, "ReduceOnPlateau: factor must be in (0, 1), got \(factor)")
        require(patience >= 0 && cooldown >= 0, "ReduceOnPlateau: patience and cooldown must be >= 0, got \(patience), \(cooldown)")
        require(threshold >= 0 && minimum >= 0, "ReduceOnPlateau: threshold and minimum must be >= 0, got \(threshold), \(minimum)")
        (self.mode, self.factor, self.patience, self.threshold) = (mode, factor, patience, threshold)
        (self.thresholdMode, self.cooldown, self.minimum) = (thresholdMode, cooldown, minimum)
        best = mode == .min ? .infinity : -.infinity
    }

    /// Whether `metric` improves on `best`.
    func isBetter(_ metric: Double) -> Bool {
        switch (mode, thresholdMode) {
        case (.min, .relative): return metric < best * (1 - threshold)
        case (.min, .absolute): return metric < best - threshold
        case (.max, .relative): return metric > best * (threshold + 1)
        case (.max, .absolute): return metric > best + threshold
        }
    }

    /// The rate given what the schedule gives: `rate · scale`, not below `minimum` once
    /// reduced.
    public func apply(to rate: Double) -> Double { scale < 1 ? Swift.max(rate * scale, minimum) : rate }

    /// Records one epoch's `metric` (`rate`: the rate in force before it); returns whether
    /// the rate was reduced.
    mutating func observe(_ metric: Double, rate: Double) -> Bool {
        epochs += 1
        if isBetter(metric) { best = metric; badEpochs = 0 } else { badEpochs += 1 }
        if cooldownLeft > 0 { cooldownLeft -= 1; badEpochs = 0 }
        guard badEpochs > patience else { return false }
        let old = apply(to: rate), new = Swift.max(old * factor, minimum)
        cooldownLeft = cooldown
        badEpochs = 0
        guard old - new > 1e-8 else { return false }
        scale *= factor
        return true
    }

    /// The state as checkpoint scalars (`plateau.best`, …).
    var stateScalars: [String: String] {
        [
            "plateau.best": String(best), "plateau.bad_epochs": String(badEpochs), "plateau.cooldown_counter": String(cooldownLeft),
            "plateau.last_epoch": String(epochs), "plateau.scale": String(scale)
        ]
    }

    /// Restores what `stateScalars` wrote; keeps the state as it is when the scalars hold
    /// none of it (a checkpoint from before the plateau); throws if one is missing or malformed.
    mutating func restore(from scalars: [String: String]) throws {
        let keys = ["plateau.best", "plateau.bad_epochs", "plateau.cooldown_counter", "plateau.last_epoch", "plateau.scale"]
        guard keys.contains(where: { scalars[$0] != nil }) else { return } // an older checkpoint: start afresh
        func number(_ key: String) throws -> Double {
            guard let text = scalars[key], let value = Double(text), !value.isNaN else {
                throw OptimizerStateError("ReduceOnPlateau: the checkpoint's '\(key)' is \(scalars[key].map { "'\($0)'" } ?? "missing")")
            }
            return value
        }
        func count(_ key: String) throws -> Int {
            guard let text = scalars[key], let value = Int(text), value >= 0 else {
                throw OptimizerStateError(
                    "ReduceOnPlateau: the checkpoint's '\(key)' is \(scalars[key].map { "'\($0)'" } ?? "missing"), not a count")
            }
            return value
        }
        let (b, bad, cool, e, s) = (try number(keys[0]), try count(keys[1]), try count(keys[2]), try count(keys[3]), try number(keys[4]))
        guard s > 0 && s <= 1 else { throw OptimizerStateError("ReduceOnPlateau: the checkpoint's 'plateau.scale' is \(s), not in (0, 1]") }
        (best, badEpochs, cooldownLeft, epochs, scale) = (b, bad, cool, e, s)
    }
}
