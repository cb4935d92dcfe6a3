/// The sampling step of a variational autoencoder (Kingma & Welling, 2014), as a module.
///
/// Its input `[N, 2k]` holds, side by side, the mean μ `[N, k]` and the log-variance
/// log σ² `[N, k]` that the encoder predicts; its output `[N, k]` is the
/// *reparameterised* sample z = μ + σ · ε, with ε ~ N(0, I) drawn from the module's own
/// seeded generator. Because ε does not depend on the parameters, gradients flow
/// through z to μ and log σ² like through any other module.
///
/// It is also a penalty module: the variational objective adds
/// KL(N(μ, σ²) ‖ N(0, I)) = ½ Σ_j (μ_j² + σ_j² − 1 − log σ_j²) per example, which
/// `bprop` adds to the gradient and `kl` (= `penalty`) reports for the last `fprop`.
/// With `.batchMean` (the default) the KL term is the mean over the N examples, on the
/// scale of a reconstruction loss with `.batchMean` (e.g. `BCEWithLogitsLoss(reduction:
/// .batchMean)`), so loss + kl is the negative ELBO per example. `.sum` sums it.
///
/// It samples in evaluation mode too (an ELBO is evaluated with samples); set
/// `fixedNoise` (ε `[N, k]`), or call `freezeNoise()` after an `fprop`, to use a fixed ε
/// (gradient checks).
///
/// ```swift
/// let vae = Sequential<Float> {
///     Linear(784, 400); ReLU(); Linear(400, 2 * k)     // μ | log σ²
///     GaussianSample(k)                                // z, and the KL term
///     Linear(k, 400); ReLU(); Linear(400, 784)         // logits of p(x | z)
/// }
/// ```
public final class GaussianSample<Scalar: TensorScalar>: Layer, PenaltyReporting {
    /// Size of z (the input has 2k columns).
    public let k: Int
    public let reduction: Reduction
    /// The generator ε is drawn from.
    public var rng: Random
    /// When set, used as ε (`[N, k]`) instead of a fresh draw.
    public var fixedNoise: Tensor<Scalar>?
    /// ε of the last `fprop`.
    public private(set) var noise: Tensor<Scalar>?
    /// KL(q(z|x) ‖ N(0, I)) for the input of the last `fprop`, reduced (per example by default).
    public private(set) var kl: Double = 0
    /// The same as `kl`: the term this module adds to the objective.
    public var penalty: Double { kl }

    /// A sampler of k-dimensional codes with ε from `Random(seed:)`.
    public init(_ k: Int, reduction: Reduction = .batchMean, seed: UInt64) {
        require(k > 0, "GaussianSample: k must be positive, got \(k)")
        require(reduction != .mean, "GaussianSample: reduction must be .batchMean or .sum")
        self.k = k
        self.reduction = reduction
        rng = Random(seed: seed)
    }

    /// A sampler whose generator is seeded from `rng`.
    public convenience init(_ k: Int, reduction: Reduction = .batchMean, using rng: inout Random) {
        self.init(k, reduction: reduction, seed: rng.next())
    }

    /// A sampler whose generator is seeded from `Random.global`.
    public convenience init(_ k: Int, reduction: Reduction = .batchMean) {
        self.init(k, reduction: reduction, using: &Random.global)
    }

    /// Keeps the last ε for every later `fprop` (for gradient checks).
    public func freezeNoise() {
        require(noise != nil, "GaussianSample.freezeNoise: no ε yet; run fprop first")
        fixedNoise = noise
    }

    public var description: String { "GaussianSample(\(2 * k) -> \(k))" }

    public func outputShape(for inputShape: [Int]) throws -> [Int] {
        guard inputShape.count == 2, inputShape[1] == 2 * k else {
            throw ShapeError("\(self) expects input [N, \(2 * k)] (μ and log σ² side by side), got \(inputShape)")
        }
        return [inputShape[0], k]
    }

    private func klScale(_ rows: Int) -> Scalar { reduction == .sum ? 1 : 1 / Scalar(max(rows, 1)) }

    // input [N, 2k] → z [N, k]
    public func fprop(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
        let shape = checkedOutputShape(input.shape)
        let rows = shape[0]
        let eps: Tensor<Scalar>
        if let fixedNoise {
            require(fixedNoise.shape == shape, "GaussianSample: fixedNoise has shape \(fixedNoise.shape), expected \(shape)")
            eps = fixedNoise
        } else {
            eps = Tensor(shape: shape) { Scalar.normalFill($0, rows * k, std: 1, using: &rng) }
        }
        noise = eps
        var total: Scalar = 0
        let z = input.withUnsafePointer { x in
            eps.withUnsafePointer { e in
                Tensor<Scalar>(shape: shape) { total = Scalar.gaussianSample(x, e, $0, rows: rows, k: k) }
            }
        }
        kl = Double(total * klScale(rows))
        return z
    }

    // gradOutput [N, k] → gradInput [N, 2k]: reparameterised gradient plus the KL gradient
    public func bprop(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) -> Tensor<Scalar> {
        checkGradOutput(input, gradOutput)
        guard let eps = noise, eps.shape == gradOutput.shape else {
            requireFailure("GaussianSample: bprop needs the input of the most recent fprop (got \(input.shape))")
        }
        let rows = input.shape[0], scale = klScale(rows)
        return input.withUnsafePointer { x in
            eps.withUnsafePointer { e in
                gradOutput.withUnsafePointer { g in
                    Tensor(shape: input.shape) { Scalar.gaussianSampleBackward(x, e, g, $0, rows: rows, k: k, klScale: scale) }
                }
            }
        }
    }
}
