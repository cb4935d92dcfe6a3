// Adam: adaptive moment estimation with bias correction.

/// Adam (Kingma & Ba, 2015) with bias correction; optional L2 weight decay on weights.
public final class Adam<Scalar: TensorScalar>: Optimizer {
    public let parameters: [Parameter<Scalar>]
    public var learningRate: Double
    public var beta1: Double
    public var beta2: Double
    public var epsilon: Double
    public var weightDecay: Double
    public var schedule: LearningRateSchedule
    public var epoch = 0
    public var maxGradientNorm: Double?
    /// Steps taken so far (for bias correction).
    public var stepCount = 0
    /// First and second moment estimates, one per parameter.
    public var firstMoments: [Tensor<Scalar>]
    public var secondMoments: [Tensor<Scalar>]

    public init(_ parameters: [Parameter<Scalar>], learningRate: Double = 1e-3, beta1: Double = 0.9,
                beta2: Double = 0.999, epsilon: Double = 1e-8, weightDecay: Double = 0,
                schedule: LearningRateSchedule = .constant, maxGradientNorm: Double? = nil) {
        require(learningRate >= 0, "Adam: learningRate must be >= 0, got \(learningRate)")
        require((0..<1).contains(beta1) && (0..<1).contains(beta2), "Adam: betas must be in [0, 1), got \(beta1), \(beta2)")
        self.parameters = distinct(parameters)
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.schedule = schedule
        self.maxGradientNorm = maxGradientNorm
        self.firstMoments = self.parameters.map { .zeros($0.value.shape) }
        self.secondMoments = self.parameters.map { .zeros($0.value.shape) }
    }

    public func beginStep() { stepCount += 1 }

    public func update(_ index: Int, learningRate rate: Scalar) {
        let p = parameters[index]
        let n = p.value.count
        let c1 = Scalar(1 - Foundation.pow(beta1, Double(stepCount)))
        let c2 = Scalar(1 - Foundation.pow(beta2, Double(stepCount)))
        let l2 = p.decays ? Scalar(weightDecay) : 0
        p.grad.withUnsafePointer { g in
            p.value.withUnsafeMutablePointer { w in
                firstMoments[index].withUnsafeMutablePointer { m in
                    secondMoments[index].withUnsafeMutablePointer { v in
                        Scalar.adamStep(w, g, m, v, n, lr: rate, beta1: Scalar(beta1), beta2: Scalar(beta2),
                                        epsilon: Scalar(epsilon), l2: l2, correction1: c1, correction2: c2)
                    }
                }
            }
        }
    }
}

import Foundation
