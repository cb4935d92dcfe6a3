// Adam: adaptive moment estimation with bias correction (optionally AMSGrad), L2 decay.

/// Adam (Kingma & Ba, 2015) with bias correction, optional AMSGrad and L2 weight decay;
/// PyTorch's `torch.optim.Adam`, same defaults (lr 1e-3, betas 0.9/0.999, eps 1e-8):
///
///     d = g + λ·w                          (λ = weightDecay, decaying parameters only)
///     m = β₁·m + (1 − β₁)·d,  v = β₂·v + (1 − β₂)·d²
///     v̂ = max(v̂, v) with amsgrad, else v
///     w −= (lr / (1 − β₁ᵗ)) · m / (√v̂ / √(1 − β₂ᵗ) + ε)      (t = stepCount)
///
/// For decoupled decay use `AdamW`. Checkpoint slots: `exp_avg`, `exp_avg_sq`,
/// `max_exp_avg_sq` (amsgrad), and the step count.
public final class Adam<Scalar: TensorScalar>: Optimizer {
    public let parameters: [Parameter<Scalar>]
    public var learningRate: Double
    public var beta1: Double
    public var beta2: Double
    public var epsilon: Double
    public var weightDecay: Double
    /// Whether the denominator uses the largest second moment seen so far (Reddi et al. 2018).
    public let amsgrad: Bool
    public var schedule: LearningRateSchedule
    /// Steps taken so far (for bias correction and the schedule).
    public var stepCount = 0
    public var stepsPerEpoch: Int?
    public var plateau: ReduceOnPlateau?
    public var maxGradientNorm: Double?
    public var maxNorm: Double?
    /// First and second moment estimates, one per parameter.
    public var firstMoments: [Tensor<Scalar>]
    public var secondMoments: [Tensor<Scalar>]
    /// The largest second moments so far (amsgrad; empty without).
    public var maxSecondMoments: [Tensor<Scalar>]

    public init(
        _ parameters: [Parameter<Scalar>], learningRate: Double = 1e-3, beta1: Double = 0.9,
        beta2: Double = 0.999, epsilon: Double = 1e-8, weightDecay: Double = 0, amsgrad: Bool = false,
        schedule: LearningRateSchedule = .constant, maxGradientNorm: Double? = nil, maxNorm: Double? = nil
    ) {
        validateOptimizer("Adam", learningRate: learningRate, schedule: schedule, maxGradientNorm: maxGradientNorm, maxNorm: maxNorm)
        require((0..<1).contains(beta1) && (0..<1).contains(beta2), "Adam: betas must be in [0, 1), got \(beta1), \(beta2)")
        require(epsilon >= 0 && weightDecay >= 0, "Adam: epsilon and weightDecay must be >= 0, got \(epsilon), \(weightDecay)")
        self.parameters = distinct(parameters)
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.amsgrad = amsgrad
        self.schedule = schedule
        self.maxGradientNorm = maxGradientNorm
        self.maxNorm = maxNorm
        self.firstMoments = self.parameters.map { .zeros($0.value.shape) }
        self.secondMoments = self.parameters.map { .zeros($0.value.shape) }
        self.maxSecondMoments = amsgrad ? self.parameters.map { .zeros($0.value.shape) } : []
    }

    public func update(_ index: Int, learningRate rate: Scalar) {
        adamUpdate(
            parameters[index], &firstMoments[index], &secondMoments[index], amsgrad ? index : nil, &maxSecondMoments,
            step: stepCount, rate: rate, beta1: beta1, beta2: beta2, epsilon: epsilon,
            l2: parameters[index].decays ? weightDecay : 0, decoupled: 0)
    }
}

/// One Adam or AdamW update of `p` (shared by both): `decoupled` is AdamW's λ (w ·= 1 − lr·λ).
func adamUpdate<Scalar: TensorScalar>(
    _ p: Parameter<Scalar>, _ m: inout Tensor<Scalar>, _ v: inout Tensor<Scalar>,
    _ maxIndex: Int?, _ maxMoments: inout [Tensor<Scalar>], step: Int, rate: Scalar,
    beta1: Double, beta2: Double, epsilon: Double, l2: Double, decoupled: Double
) {
    let n = p.value.count
    let c1 = Scalar(1 - Foundation.pow(beta1, Double(step)))
    let c2 = Scalar(1 - Foundation.pow(beta2, Double(step)))
    let shrink = Scalar(1 - Double(rate) * decoupled)
    p.grad.withUnsafePointer { g in
        p.value.withUnsafeMutablePointer { w in
            m.withUnsafeMutablePointer { m in
                v.withUnsafeMutablePointer { v in
                    func run(_ vMax: UnsafeMutablePointer<Scalar>?) {
                        Scalar.adamStep(
                            w, g, m, v, vMax, n, lr: rate, beta1: Scalar(beta1), beta2: Scalar(beta2),
                            oneMinusBeta1: Scalar(1 - beta1), oneMinusBeta2: Scalar(1 - beta2),
                            epsilon: Scalar(epsilon), l2: Scalar(l2), shrink: shrink, correction1: c1, correction2: c2)
                    }
                    if let maxIndex { maxMoments[maxIndex].withUnsafeMutablePointer { run($0) } } else { run(nil) }
                }
            }
        }
    }
}

import Foundation
