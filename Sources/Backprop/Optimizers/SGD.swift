// SGD: stochastic gradient descent with momentum (heavy ball or Nesterov), L2 and L1.

/// Stochastic gradient descent with optional momentum (heavy ball or Nesterov), L2 weight
/// decay and L1 shrinkage. Decay applies only to parameters with `decays` set (weights,
/// never biases). The update is PyTorch's: v = μ v + g; w −= lr · v.
public final class SGD<Scalar: TensorScalar>: Optimizer {
    public let parameters: [Parameter<Scalar>]
    public var learningRate: Double
    public var momentum: Double
    public var nesterov: Bool
    /// L2 penalty coefficient: adds `weightDecay · w` to the gradient of decaying parameters.
    public var weightDecay: Double
    /// L1 penalty coefficient: adds `l1 · sign(w)` to the gradient of decaying parameters.
    public var l1: Double
    public var schedule: LearningRateSchedule
    public var epoch = 0
    public var maxGradientNorm: Double?
    /// Momentum buffers, one per parameter (the optimizer's state in checkpoints).
    public var velocities: [Tensor<Scalar>]

    public init(_ parameters: [Parameter<Scalar>], learningRate: Double, momentum: Double = 0,
                nesterov: Bool = false, weightDecay: Double = 0, l1: Double = 0,
                schedule: LearningRateSchedule = .constant, maxGradientNorm: Double? = nil) {
        require(learningRate >= 0, "SGD: learningRate must be >= 0, got \(learningRate)")
        require(momentum >= 0 && momentum < 1, "SGD: momentum must be in [0, 1), got \(momentum)")
        require(!nesterov || momentum > 0, "SGD: Nesterov momentum needs momentum > 0")
        self.parameters = distinct(parameters)
        self.learningRate = learningRate
        self.momentum = momentum
        self.nesterov = nesterov
        self.weightDecay = weightDecay
        self.l1 = l1
        self.schedule = schedule
        self.maxGradientNorm = maxGradientNorm
        self.velocities = self.parameters.map { .zeros($0.value.shape) }
    }

    public func update(_ index: Int, learningRate rate: Scalar) {
        let p = parameters[index]
        let n = p.value.count
        let decays = p.decays
        p.grad.withUnsafePointer { g in
            p.value.withUnsafeMutablePointer { w in
                velocities[index].withUnsafeMutablePointer { v in
                    Scalar.sgdStep(w, g, v, n, lr: rate, momentum: Scalar(momentum),
                                   l2: decays ? Scalar(weightDecay) : 0, l1: decays ? Scalar(l1) : 0,
                                   nesterov: nesterov)
                }
            }
        }
    }
}
