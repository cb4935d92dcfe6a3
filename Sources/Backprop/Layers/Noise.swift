// Corruption for denoising autoencoders: the input is damaged on the way in, and the
// network is trained to reconstruct the clean input. Both modules are active only while
// `isTraining`; in evaluation mode they are the identity. Shapes: output = input shape.

/// Masking noise: each input element is set to 0 with probability `p` (and kept as is
/// otherwise, without the 1/(1 − p) rescaling of dropout), as in Vincent et al.'s
/// denoising autoencoders.
///
/// The mask is drawn from the module's own seeded generator at every training `fprop`.
/// Set `fixedMask` to reuse one mask (gradient checks, pictures of the corruption).
///
/// ```swift
/// let corrupt = MaskingNoise<Float>(0.25, seed: 7)
/// let noisy = corrupt.fprop(clean)          // a quarter of the pixels zeroed
/// ```
public final class MaskingNoise<Scalar: TensorScalar>: Layer {
    /// Probability that an element is zeroed.
    public let p: Double
    /// The generator the masks are drawn from.
    public var rng: Random
    /// When set, used as the mask (1 = keep, 0 = drop; the input's shape) instead of drawing one.
    public var fixedMask: Tensor<Scalar>?
    /// The mask of the last training `fprop`.
    public private(set) var mask: Tensor<Scalar>?
    public var isTraining = true

    /// Masking noise zeroing each element with probability `p`, masks drawn from `Random(seed:)`.
    public init(_ p: Double, seed: UInt64) {
        precondition((0...1).contains(p), "MaskingNoise: p must be in [0, 1], got \(p)")
        self.p = p
        rng = Random(seed: seed)
    }

    /// Masking noise whose generator is seeded from `Random.global`.
    public convenience init(_ p: Double) { self.init(p, seed: Random.global.next()) }

    public var description: String { "MaskingNoise(\(p))" }

    public func fprop(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
        guard isTraining else { mask = nil; return input }
        let m: Tensor<Scalar>
        if let fixedMask {
            precondition(fixedMask.shape == input.shape,
                         "MaskingNoise: fixedMask has shape \(fixedMask.shape) but the input has shape \(input.shape)")
            m = fixedMask
        } else {
            m = Tensor(shape: input.shape) { Scalar.bernoulliMask($0, input.count, keep: 1 - p, using: &rng) }
        }
        mask = m
        return input * m
    }

    // gradInput = gradOutput ⊙ mask (identity in evaluation mode)
    public func bprop(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) -> Tensor<Scalar> {
        checkGradOutput(input, gradOutput)
        guard isTraining else { return gradOutput }
        guard let mask, mask.shape == input.shape else {
            preconditionFailure("MaskingNoise: bprop needs the input of the most recent training fprop (got \(input.shape))")
        }
        return gradOutput * mask
    }
}

/// Additive Gaussian noise: x + σ · ε with ε ~ N(0, 1) drawn for every element.
///
/// The noise is drawn from the module's own seeded generator at every training `fprop`.
/// Set `fixedNoise` (ε, the input's shape) to reuse one draw.
public final class GaussianNoise<Scalar: TensorScalar>: Layer {
    /// Standard deviation of the noise.
    public let sigma: Double
    /// The generator the noise is drawn from.
    public var rng: Random
    /// When set, used as ε (the input's shape) instead of a fresh draw.
    public var fixedNoise: Tensor<Scalar>?
    public var isTraining = true

    /// Gaussian noise of standard deviation `sigma`, drawn from `Random(seed:)`.
    public init(_ sigma: Double, seed: UInt64) {
        precondition(sigma >= 0, "GaussianNoise: sigma must be >= 0, got \(sigma)")
        self.sigma = sigma
        rng = Random(seed: seed)
    }

    /// Gaussian noise whose generator is seeded from `Random.global`.
    public convenience init(_ sigma: Double) { self.init(sigma, seed: Random.global.next()) }

    public var description: String { "GaussianNoise(\(sigma))" }

    public func fprop(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
        guard isTraining else { return input }
        if let fixedNoise {
            precondition(fixedNoise.shape == input.shape,
                         "GaussianNoise: fixedNoise has shape \(fixedNoise.shape) but the input has shape \(input.shape)")
            var out = input
            out.add(fixedNoise, scaledBy: Scalar(sigma))
            return out
        }
        let noise = Tensor<Scalar>(shape: input.shape) { Scalar.normalFill($0, input.count, std: sigma, using: &rng) }
        return input + noise
    }

    // additive noise does not depend on the input: gradInput = gradOutput
    public func bprop(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) -> Tensor<Scalar> {
        checkGradOutput(input, gradOutput)
        return gradOutput
    }
}
