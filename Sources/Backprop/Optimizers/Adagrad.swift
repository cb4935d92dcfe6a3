// Adagrad: per-coordinate rates from the sum of squared gradients (Duchi et al., 2011).

/// Adagrad, PyTorch's `torch.optim.Adagrad` with its defaults (lr 0.01, lr_decay 0, no
/// weight decay, initial_accumulator_value 0, eps 1e-10):
///
///     d = g + λ·w                           (λ = weightDecay, decaying parameters only)
///     lr_t = lr / (1 + (t − 1)·lrDecay)     (t = stepCount)
///     s += d²
///     w −= lr_t · d / (√s + ε)
///
/// Checkpoint slot: `sum`, and the step count.
public final class Adagrad<Scalar: TensorScalar>: Optimizer {
    public let parameters: [Parameter<Scalar>]
    public var learningRate: Double
    /// The rate's decay per step: lr / (1 + (t − 1)·lrDecay).
    public var lrDecay: Double
    public var weightDecay: Double
    public var epsilon: Double
    public var schedule: LearningRateSchedule
    public var stepCount = 0
    public var stepsPerEpoch: Int?
    public var plateau: ReduceOnPlateau?
    public var maxGradientNorm: Double?
    public var maxNorm: Double?
    /// The sums of squared gradients (starting at `initialAccumulatorValue`), one per parameter.
    public var sums: [Tensor<Scalar>]

    public init(
        _ parameters: [Parameter<Scalar>], learningRate: Double = 0.01, lrDecay: Double = 0, weightDecay: Double = 0,
        initialAccumulatorValue: Double = 0, epsilon: Double = 1e-10,
        schedule: LearningRateSchedule = .constant, maxGradientNorm: Double? = nil, maxNorm: Double? = nil
    ) {
        validateOptimizer("Adagrad", learningRate: learningRate, schedule: schedule, maxGradientNorm: maxGradientNorm, maxNorm: maxNorm)
        require(
            lrDecay >= 0 && weightDecay >= 0 && initialAccumulatorValue >= 0 && epsilon >= 0,
            "Adagrad: lrDecay, weightDecay, initialAccumulatorValue and epsilon must be >= 0, got \(lrDecay), \(weightDecay), \(initialAccumulatorValue), \(epsilon)"
        )
        self.parameters = distinct(parameters)
        self.learningRate = learningRate
        self.lrDecay = lrDecay
        self.weightDecay = weightDecay
        self.epsilon = epsilon
        self.schedule = schedule
        self.maxGradientNorm = maxGradientNorm
        self.maxNorm = maxNorm
        self.sums = self.parameters.map { Tensor(repeating: Scalar(initialAccumulatorValue), shape: $0.value.shape) }
    }

    public func update(_ index: Int, learningRate rate: Scalar) {
        let p = parameters[index]
        let n = p.value.count
        let decayed = Scalar(Double(rate) / (1 + Double(stepCount - 1) * lrDecay))
        let l2 = p.decays ? Scalar(weightDecay) : 0
        p.grad.withUnsafePointer { g in
            p.value.withUnsafeMutablePointer { w in
                sums[index].withUnsafeMutablePointer { s in
                    Scalar.adagradStep(w, g, s, n, lr: decayed, epsilon: Scalar(epsilon), l2: l2)
                }
            }
        }
    }
}
