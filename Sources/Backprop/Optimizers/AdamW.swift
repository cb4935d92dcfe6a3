// AdamW: Adam with decoupled weight decay (Loshchilov & Hutter, 2019).

/// Adam with decoupled weight decay (Loshchilov & Hutter, 2019); PyTorch's
/// `torch.optim.AdamW`, same defaults (lr 1e-3, betas 0.9/0.999, eps 1e-8, weight_decay 0.01):
///
///     w ·= 1 − lr·λ                        (λ = weightDecay, decaying parameters only)
///     m = β₁·m + (1 − β₁)·g,  v = β₂·v + (1 − β₂)·g²
///     v̂ = max(v̂, v) with amsgrad, else v
///     w −= (lr / (1 − β₁ᵗ)) · m / (√v̂ / √(1 − β₂ᵗ) + ε)      (t = stepCount)
///
/// The decay follows the scheduled rate (lr is the rate in force). Checkpoint slots:
/// `exp_avg`, `exp_avg_sq`, `max_exp_avg_sq` (amsgrad), and the step count.
public final class AdamW<Scalar: TensorScalar>: Optimizer {
    public let parameters: [Parameter<Scalar>]
    public var learningRate: Double
    public var beta1: Double
    public var beta2: Double
    public var epsilon: Double
    /// The decoupled decay λ: each step multiplies decaying parameters by 1 − lr·λ.
    public var weightDecay: Double
    /// Whether the denominator uses the largest second moment seen so far.
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
        beta2: Double = 0.999, epsilon: Double = 1e-8, weightDecay: Double = 0.01, amsgrad: Bool = false,
        schedule: LearningRateSchedule = .constant, maxGradientNorm: Double? = nil, maxNorm: Double? = nil
    ) {
        validateOptimizer("AdamW", learningRate: learningRate, schedule: schedule, maxGradientNorm: maxGradientNorm, maxNorm: maxNorm)
        require((0..<1).contains(beta1) && (0..<1).contains(beta2), "AdamW: betas must be in [0, 1), got \(beta1), \(beta2)")
        require(epsilon >= 0 && weightDecay >= 0, "AdamW: epsilon and weightDecay must be >= 0, got \(epsilon), \(weightDecay)")
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
            l2: 0, decoupled: parameters[index].decays ? weightDecay : 0)
    }
}
