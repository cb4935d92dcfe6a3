// The Optimizer protocol (step, zeroGrad, clipping by global norm) and learning-rate schedules.

/// Updates parameters from their accumulated gradients. A parameter shared by several
/// layers is updated once per step (the list is deduplicated by identity). A frozen
/// parameter (`Parameter.isFrozen`) is skipped: not updated, not decayed, not clipped.
///
/// ```swift
/// let optimizer = SGD(model.parameters, learningRate: 0.05, momentum: 0.9)
/// model.zeroGrad(); model.grad(x, loss.backward(model.fprop(x), y)); optimizer.step()
/// ```
public protocol Optimizer<Scalar>: AnyObject {
    associatedtype Scalar: TensorScalar
    /// The distinct parameters this optimizer updates.
    var parameters: [Parameter<Scalar>] { get }
    /// The base learning rate; `schedule` derives the rate in force from it and `epoch`.
    var learningRate: Double { get set }
    var schedule: LearningRateSchedule { get set }
    /// The current epoch (0-based), which the schedule reads. Set it as epochs begin.
    var epoch: Int { get set }
    /// If set, gradients are rescaled before each step so their global L2 norm is at most this.
    var maxGradientNorm: Double? { get set }

    /// Applies the update to parameter `index` with learning rate `rate`.
    func update(_ index: Int, learningRate rate: Scalar)
    /// Called once per step before the per-parameter updates (Adam counts steps here).
    func beginStep()
}

extension Optimizer {
    public func beginStep() {}

    /// The learning rate in force this epoch.
    public var currentLearningRate: Double { schedule.rate(base: learningRate, epoch: epoch) }

    /// One update of every parameter from its `grad` (clipped first if `maxGradientNorm` is set).
    /// With clipping, returns the gradients' global norm before clipping (nil without), so
    /// that a training loop can check it for free: `Divergence.check(gradientNorm:)`.
    @discardableResult
    public func step() -> Double? {
        let norm = maxGradientNorm.map { clipGradients(maxNorm: $0) }
        beginStep()
        let rate = Scalar(currentLearningRate)
        for i in parameters.indices where !parameters[i].isFrozen { update(i, learningRate: rate) }
        return norm
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
}

/// How the learning rate changes with the epoch.
public enum LearningRateSchedule: Equatable, Sendable {
    /// Always the base rate.
    case constant
    /// Multiplied by `gamma` every `every` epochs (PyTorch's StepLR).
    case step(every: Int, gamma: Double)
    /// Multiplied by `gamma` every epoch.
    case exponential(gamma: Double)
    /// Cosine annealing from the base rate to `minimum` over `epochs` epochs.
    case cosine(epochs: Int, minimum: Double)

    /// The rate at `epoch` (0-based) for a base rate.
    public func rate(base: Double, epoch: Int) -> Double {
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
        }
    }
}

import Foundation
