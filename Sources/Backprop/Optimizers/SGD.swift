// SGD: stochastic gradient descent with momentum (heavy ball or Nesterov), dampening, L2 and L1.

/// Stochastic gradient descent with optional momentum (heavy ball or Nesterov), dampening,
/// L2 weight decay and L1 shrinkage; PyTorch's `torch.optim.SGD`, same defaults:
///
///     d = g + λ·w                                   (λ = weightDecay, decaying parameters only)
///     v = d (first step),  v = μ·v + (1 − dampening)·d (after)
///     w −= lr · (nesterov ? d + μ·v : v)            (μ = 0: w −= lr · d)
///
/// L1 (our addition) shrinks w −= lr · l1 · sign(w) before that, outside the momentum
/// buffer. Decay, L1 and `maxNorm` apply only to parameters with `decays` set (weights,
/// never biases). Checkpoint slot: `momentum_buffer`.
public final class SGD<Scalar: TensorScalar>: Optimizer {
    public let parameters: [Parameter<Scalar>]
    public var learningRate: Double
    public var momentum: Double
    /// Scales the new gradient in the momentum buffer by 1 − dampening (after the first step).
    public var dampening: Double
    public var nesterov: Bool
    /// L2 penalty coefficient: adds `weightDecay · w` to the gradient of decaying parameters.
    public var weightDecay: Double
    /// L1 penalty coefficient: adds `l1 · sign(w)` to the gradient of decaying parameters.
    public var l1: Double
    public var schedule: LearningRateSchedule
    public var stepCount = 0
    public var stepsPerEpoch: Int?
    public var plateau: ReduceOnPlateau?
    public var maxGradientNorm: Double?
    public var maxNorm: Double?
    /// Momentum buffers, one per parameter (the optimizer's state in checkpoints).
    public var velocities: [Tensor<Scalar>]

    public init(
        _ parameters: [Parameter<Scalar>], learningRate: Double, momentum: Double = 0, dampening: Double = 0,
        nesterov: Bool = false, weightDecay: Double = 0, l1: Double = 0,
        schedule: LearningRateSchedule = .constant, maxGradientNorm: Double? = nil, maxNorm: Double? = nil
    ) {
        validateOptimizer("SGD", learningRate: learningRate, schedule: schedule, maxGradientNorm: maxGradientNorm, maxNorm: maxNorm)
        require(momentum >= 0 && momentum < 1, "SGD: momentum must be in [0, 1), got \(momentum)")
        require(dampening >= 0 && dampening <= 1, "SGD: dampening must be in [0, 1], got \(dampening)")
        require(!nesterov || (momentum > 0 && dampening == 0), "SGD: Nesterov momentum needs momentum > 0 and dampening 0")
        require(weightDecay >= 0 && l1 >= 0, "SGD: weightDecay and l1 must be >= 0, got \(weightDecay), \(l1)")
        self.parameters = distinct(parameters)
        self.learningRate = learningRate
        self.momentum = momentum
        self.dampening = dampening
        self.nesterov = nesterov
        self.weightDecay = weightDecay
        self.l1 = l1
        self.schedule = schedule
        self.maxGradientNorm = maxGradientNorm
        self.maxNorm = maxNorm
        self.velocities = self.parameters.map { .zeros($0.value.shape) }
    }

    public func update(_ index: Int, learningRate rate: Scalar) {
        let p = parameters[index]
        let n = p.value.count
        let decays = p.decays
        let first = stepCount == 1
        p.grad.withUnsafePointer { g in
            p.value.withUnsafeMutablePointer { w in
                velocities[index].withUnsafeMutablePointer { v in
                    Scalar.sgdStep(
                        w, g, v, n, lr: rate, momentum: Scalar(momentum), oneMinusDampening: Scalar(1 - dampening),
                        l2: decays ? Scalar(weightDecay) : 0, l1: decays ? Scalar(l1) : 0,
                        nesterov: nesterov, first: first)
                }
            }
        }
    }
}
