// Corruption for denoising autoencoders: the input is damaged on the way in, and the
// network is trained to reconstruct the clean input. Both modules are active only while
// `isTraining`; in evaluation mode they are the identity. Shapes: output = input shape.

/// Masking noise: each input element is set to 0 with probability `p` (and kept as is
/// otherwise, without the 1/(1 − p) rescaling of dropout), as in Vincent et al.'s
/// denoising autoencoders.
///
/// The mask is drawn from the module's own seeded generator at every training `fprop`.
/// Set `fixedMask` (1 = keep, 0 = drop), or call `freezeMask()` after an `fprop`, to reuse
/// one mask (gradient checks, pictures of the corruption).
///
/// ```swift
/// let corrupt = MaskingNoise<Float>(0.25, seed: 7)
/// let noisy = corrupt.fprop(clean)          // a quarter of the pixels zeroed
/// ```
public final class MaskingNoise<Scalar: TensorScalar>: ShapePreserving {
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
        require((0...1).contains(p), "MaskingNoise: p must be in [0, 1], got \(p)")
        self.p = p
        rng = Random(seed: seed)
    }

    /// Masking noise whose generator is seeded from `rng`.
    public convenience init(_ p: Double, using rng: inout Random) { self.init(p, seed: rng.next()) }

    /// Masking noise whose generator is seeded from `Random.global`.
    public convenience init(_ p: Double) { self.init(p, using: &Random.global) }

    /// Keeps the last mask for every later training `fprop` (for gradient checks).
    public func freezeMask() {
        require(mask != nil, "MaskingNoise.freezeMask: no mask yet; run fprop in training mode first")
        fixedMask = mask
    }

    public var description: String { "MaskingNoise(\(p))" }

    public func fprop(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
        guard isTraining else { mask = nil; return input }
        let m: Tensor<Scalar>
        if let fixedMask {
            require(
                fixedMask.shape == input.shape,
                "MaskingNoise: fixedMask has shape \(fixedMask.shape) but the input has shape \(input.shape)")
            m = fixedMask
        } else {
            m = Tensor(shape: input.shape) { Scalar.bernoulliMask($0, input.count, keep: 1 - p, scale: 1, using: &rng) }
        }
        mask = m
        return input * m
    }

    // gradInput = gradOutput ⊙ mask (identity in evaluation mode)
    public func bprop(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) -> Tensor<Scalar> {
        checkGradOutput(input, gradOutput)
        guard isTraining else { return gradOutput }
        guard let mask, mask.shape == input.shape else {
            requireFailure("MaskingNoise: bprop needs the input of the most recent training fprop (got \(input.shape))")
        }
        return gradOutput * mask
    }
}

/// Additive Gaussian noise: x + σ · ε with ε ~ N(0, 1) drawn for every element.
///
/// The noise is drawn from the module's own seeded generator at every training `fprop`.
/// Set `fixedNoise` (ε, the input's shape), or call `freezeNoise()` after an `fprop`, to
/// reuse one draw.
public final class GaussianNoise<Scalar: TensorScalar>: ShapePreserving {
    /// Standard deviation of the noise.
    public let sigma: Double
    /// The generator the noise is drawn from.
    public var rng: Random
    /// When set, used as ε (the input's shape) instead of a fresh draw.
    public var fixedNoise: Tensor<Scalar>?
    /// ε of the last training `fprop` (the added noise is σ · ε).
    public private(set) var noise: Tensor<Scalar>?
    public var isTraining = true

    /// Gaussian noise of standard deviation `sigma`, drawn from `Random(seed:)`.
    public init(_ sigma: Double, seed: UInt64) {
        require(sigma >= 0, "GaussianNoise: sigma must be >= 0, got \(sigma)")
        self.sigma = sigma
        rng = Random(seed: seed)
    }

    /// Gaussian noise whose generator is seeded from `rng`.
    public convenience init(_ sigma: Double, using rng: inout Random) { self.init(sigma, seed: rng.next()) }

    /// Gaussian noise whose generator is seeded from `Random.global`.
    public convenience init(_ sigma: Double) { self.init(sigma, using: &Random.global) }

    /// Keeps the last ε for every later training `fprop` (for gradient checks).
    public func freezeNoise() {
        require(noise != nil, "GaussianNoise.freezeNoise: no noise yet; run fprop in training mode first")
        fixedNoise = noise
    }

    public var description: String { "GaussianNoise(\(sigma))" }

    public func fprop(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
        guard isTraining else { return input }
        let eps: Tensor<Scalar>
        if let fixedNoise {
            require(
                fixedNoise.shape == input.shape,
                "GaussianNoise: fixedNoise has shape \(fixedNoise.shape) but the input has shape \(input.shape)")
            eps = fixedNoise
        } else {
            eps = Tensor<Scalar>(shape: input.shape) { Scalar.normalFill($0, input.count, std: 1, using: &rng) }
        }
        noise = eps
        var out = input
        out.add(eps, scaledBy: Scalar(sigma))
        return out
    }

    // additive noise does not depend on the input: gradInput = gradOutput
    public func bprop(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) -> Tensor<Scalar> {
        checkGradOutput(input, gradOutput)
        return gradOutput
    }
}
