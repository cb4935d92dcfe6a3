// The Optimizer protocol: one step (clipping, the schedule's rate, the updates, max-norm),
// the step count that drives the schedule, reduce-on-plateau, zeroGrad, clipping.

import Foundation

/// Updates parameters from their accumulated gradients. A parameter shared by several
/// layers is updated once per step (the list is deduplicated by identity). A frozen
/// parameter (`Parameter.isFrozen`) is skipped: not updated, not decayed, not clipped.
///
/// ```swift
/// let optimizer = SGD(model.parameters, learningRate: 0.05, momentum: 0.9)
/// model.zeroGrad(); model.grad(x, loss.backward(model.fprop(x), y)); optimizer.step()
/// ```
///
/// `step()` does, in order: clip the gradients to `maxGradientNorm` (if set); take the
/// rate of step `stepCount` from `schedule` (times the reductions of `plateau`); count the
/// step; update every parameter; rescale each unit's incoming weights to norm ≤ `maxNorm`
/// (if set). Weight decay (L2, L1, AdamW's decoupled decay) and max-norm apply only to
/// parameters with `decays` set: weights, never biases or normalization parameters.
public protocol Optimizer<Scalar>: AnyObject {
    associatedtype Scalar: TensorScalar
    /// The distinct parameters this optimizer updates.
    var parameters: [Parameter<Scalar>] { get }
    /// The base learning rate; `schedule` (and `plateau`) derive the rate in force from it.
    var learningRate: Double { get set }
    /// How the rate changes with the step count (or the epoch derived from it).
    var schedule: LearningRateSchedule { get set }
    /// Steps taken so far; `step()` adds one. Saved in checkpoints.
    var stepCount: Int { get set }
    /// Steps in an epoch (batches per epoch), from which per-epoch schedules derive the
    /// epoch: ⌊step / stepsPerEpoch⌋. Needed only by per-epoch schedules.
    var stepsPerEpoch: Int? { get set }
    /// Reduce-on-plateau, fed once per epoch with `observe(metric:)`; nil for none.
    var plateau: ReduceOnPlateau? { get set }
    /// If set, gradients are rescaled before each step so their global L2 norm is at most this.
    var maxGradientNorm: Double? { get set }
    /// If set, after each update every unit's incoming weight vector (a slice along
    /// dimension 0 of a decaying parameter: a row of a Linear weight [out, in], a filter
    /// of a conv weight [F, C, kH, kW]) is rescaled to L2 norm ≤ maxNorm
    /// (Srivastava et al. 2014), as `torch.renorm(w, 2, 0, maxNorm)`.
    var maxNorm: Double? { get set }

    /// Applies the update to parameter `index` with learning rate `rate` (`stepCount`
    /// already counts this step).
    func update(_ index: Int, learningRate rate: Scalar)
    /// Called once per step, after `stepCount` is advanced and before the per-parameter updates.
    func beginStep()
}

extension Optimizer {
    public func beginStep() {}

    /// The epoch (0-based) of the latest step, derived from `stepCount` and
    /// `stepsPerEpoch` (0 without `stepsPerEpoch`).
    public var epoch: Int {
        guard let stepsPerEpoch, stepsPerEpoch > 0 else { return 0 }
        return max(stepCount - 1, 0) / stepsPerEpoch
    }

    /// The rate for step `step` (0-based): the schedule's, times the plateau's reductions.
    public func learningRate(forStep step: Int) -> Double {
        let rate = schedule.rate(base: learningRate, step: step, stepsPerEpoch: stepsPerEpoch)
        return plateau?.apply(to: rate) ?? rate
    }

    /// The rate of the latest step (before the first step: the rate it will use).
    public var currentLearningRate: Double { learningRate(forStep: max(stepCount - 1, 0)) }

    /// The rate the next `step()` will use.
    public var nextLearningRate: Double { learningRate(forStep: stepCount) }

    /// One update of every parameter from its `grad` (clipped first if `maxGradientNorm` is
    /// set; max-norm after if `maxNorm` is set). With clipping, returns the gradients'
    /// global norm before clipping (nil without), so that a training loop can check it for
    /// free: `Divergence.check(gradientNorm:)`.
    @discardableResult
    public func step() -> Double? {
        require(
            !schedule.isPerEpoch || (stepsPerEpoch ?? 0) > 0,
            "\(Self.self): the schedule \(schedule) is per epoch: set stepsPerEpoch (batches per epoch) so that the optimizer can derive the epoch from its step count"
        )
        let norm = maxGradientNorm.map { clipGradients(maxNorm: $0) }
        let rate = Scalar(learningRate(forStep: stepCount))
        stepCount += 1
        beginStep()
        for i in parameters.indices where !parameters[i].isFrozen { update(i, learningRate: rate) }
        if let maxNorm { applyMaxNorm(maxNorm) }
        return norm
    }

    /// Shows reduce-on-plateau this epoch's validation metric (a loss in mode `.min`, an
    /// accuracy in mode `.max`); returns whether the rate was reduced. Needs `plateau`.
    @discardableResult
    public func observe(metric: Double) -> Bool {
        require(plateau != nil, "\(Self.self).observe(metric:): the optimizer has no plateau (set plateau = ReduceOnPlateau(...))")
        require(!metric.isNaN, "\(Self.self).observe(metric:): the metric is NaN")
        let rate = schedule.rate(base: learningRate, step: stepCount, stepsPerEpoch: stepsPerEpoch)
        return plateau!.observe(metric, rate: rate)
    }

    /// Sets every parameter's gradient to zero.
    public func zeroGrad() { for p in parameters { p.zeroGrad() } }

    /// The global L2 norm of all gradients, √(Σ_p ‖p.grad‖²) (frozen parameters left out).
    public func gradientNorm() -> Double {
        parameters.reduce(0.0) { $0 + ($1.isFrozen ? 0 : Double($1.grad.sumOfSquares())) }.squareRoot()
    }

    /// Rescales all gradients by one factor so that their global norm is at most
    /// `maxNorm`; returns the norm before clipping.
    @discardableResult
    public func clipGradients(maxNorm: Double) -> Double {
        let norm = gradientNorm()
        if norm > maxNorm && norm.isFinite {
            let factor = Scalar(maxNorm / (norm + 1e-6))
            for p in parameters where !p.isFrozen { p.grad.scale(by: factor) }
        }
        return norm
    }

    /// Rescales each slice along dimension 0 of every decaying parameter to L2 norm ≤
    /// `maxNorm` (by maxNorm / (norm + 1e-7), as torch.renorm).
    public func applyMaxNorm(_ maxNorm: Double) {
        for p in parameters where p.decays && !p.isFrozen && p.value.count > 0 {
            let rows = p.value.shape.first ?? 1, n = p.value.count
            p.value.withUnsafeMutablePointer { w in Scalar.maxNormRows(w, rows, n / rows, maxNorm: Scalar(maxNorm)) }
        }
    }
}

/// Checks shared by the optimizers' initialisers.
func validateOptimizer(_ name: String, learningRate: Double, schedule: LearningRateSchedule, maxGradientNorm: Double?, maxNorm: Double?) {
    require(learningRate >= 0 && learningRate.isFinite, "\(name): learningRate must be >= 0, got \(learningRate)")
    require(maxGradientNorm.map { $0 > 0 } ?? true, "\(name): maxGradientNorm must be > 0, got \(maxGradientNorm ?? 0)")
    require(maxNorm.map { $0 > 0 } ?? true, "\(name): maxNorm must be > 0, got \(maxNorm ?? 0)")
    schedule.validate(name)
}
