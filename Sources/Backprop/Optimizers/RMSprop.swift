// RMSprop: gradients divided by a running root mean square (Tieleman & Hinton, 2012).

/// RMSprop, PyTorch's `torch.optim.RMSprop` with its defaults (lr 0.01, alpha 0.99,
/// eps 1e-8, no weight decay, no momentum, not centered):
///
///     d = g + λ·w                           (λ = weightDecay, decaying parameters only)
///     s = α·s + (1 − α)·d²
///     centered:  a = α·a + (1 − α)·d,  r = √(s − a²) + ε;   else  r = √s + ε
///     momentum μ > 0:  b = μ·b + d / r,  w −= lr · b;       else  w −= lr · d / r
///
/// Checkpoint slots (PyTorch's): `square_avg`, `momentum_buffer` (momentum > 0) and
/// `grad_avg` (centered).
public final class RMSprop<Scalar: TensorScalar>: Optimizer {
    public let parameters: [Parameter<Scalar>]
    public var learningRate: Double
    /// The running average's decay α.
    public var alpha: Double
    public var epsilon: Double
    public var weightDecay: Double
    /// Momentum μ (fixed at creation: it decides whether there is a momentum buffer).
    public let momentum: Double
    /// Whether the square average is centered by the running mean gradient.
    public let centered: Bool
    public var schedule: LearningRateSchedule
    public var stepCount = 0
    public var stepsPerEpoch: Int?
    public var plateau: ReduceOnPlateau?
    public var maxGradientNorm: Double?
    public var maxNorm: Double?
    /// Running averages of the squared gradient, one per parameter.
    public var squareAverages: [Tensor<Scalar>]
    /// Momentum buffers (empty when momentum is 0).
    public var momentumBuffers: [Tensor<Scalar>]
    /// Running averages of the gradient (empty unless centered).
    public var gradientAverages: [Tensor<Scalar>]

    public init(
        _ parameters: [Parameter<Scalar>], learningRate: Double = 0.01, alpha: Double = 0.99, epsilon: Double = 1e-8,
        weightDecay: Double = 0, momentum: Double = 0, centered: Bool = false,
        schedule: LearningRateSchedule = .constant, maxGradientNorm: Double? = nil, maxNorm: Double? = nil
    ) {
        validateOptimizer("RMSprop", learningRate: learningRate, schedule: schedule, maxGradientNorm: maxGradientNorm, maxNorm: maxNorm)
        require(alpha >= 0 && alpha < 1, "RMSprop: alpha must be in [0, 1), got \(alpha)")
        require(momentum >= 0 && momentum < 1, "RMSprop: momentum must be in [0, 1), got \(momentum)")
        require(epsilon >= 0 && weightDecay >= 0, "RMSprop: epsilon and weightDecay must be >= 0, got \(epsilon), \(weightDecay)")
        self.parameters = distinct(parameters)
        self.learningRate = learningRate
        self.alpha = alpha
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.momentum = momentum
        self.centered = centered
        self.schedule = schedule
        self.maxGradientNorm = maxGradientNorm
        self.maxNorm = maxNorm
        self.squareAverages = self.parameters.map { .zeros($0.value.shape) }
        self.momentumBuffers = momentum > 0 ? self.parameters.map { .zeros($0.value.shape) } : []
        self.gradientAverages = centered ? self.parameters.map { .zeros($0.value.shape) } : []
    }

    public func update(_ index: Int, learningRate rate: Scalar) {
        let p = parameters[index]
        let n = p.value.count
        let l2 = p.decays ? Scalar(weightDecay) : 0
        p.grad.withUnsafePointer { g in
            p.value.withUnsafeMutablePointer { w in
                squareAverages[index].withUnsafeMutablePointer { s in
                    withOptionalPointer(&momentumBuffers, momentum > 0 ? index : nil) { b in
                        withOptionalPointer(&gradientAverages, centered ? index : nil) { a in
                            Scalar.rmspropStep(
                                w, g, s, b, a, n, lr: rate, alpha: Scalar(alpha), oneMinusAlpha: Scalar(1 - alpha),
                                epsilon: Scalar(epsilon),
                                l2: l2, momentum: Scalar(momentum))
                        }
                    }
                }
            }
        }
    }
}

/// Calls `body` with a pointer to `tensors[index]`, or nil when `index` is nil (an
/// optional state buffer that is off).
func withOptionalPointer<Scalar: TensorScalar>(
    _ tensors: inout [Tensor<Scalar>], _ index: Int?,
    _ body: (UnsafeMutablePointer<Scalar>?) -> Void
) {
    if let index { tensors[index].withUnsafeMutablePointer { body($0) } } else { body(nil) }
}
