// Batch normalization (BatchNorm1d, BatchNorm2d), with PyTorch's semantics and state_dict
// names: parameters weight (γ) and bias (β), buffers running_mean, running_var and
// num_batches_tracked.

/// Batch normalization over the channel axis 1 of `[N, C, ...]`, as PyTorch's `_BatchNorm`:
/// `BatchNorm1d` and `BatchNorm2d` are this layer with the input ranks they accept.
///
/// For channel c, over the m = N · (spatial size) elements x of that channel:
///
/// - **training mode**: μ = mean x, σ² = mean (x − μ)² (biased), y = γ (x − μ) / √(σ² + ε) + β.
///   Then `num_batches_tracked` += 1 and, with f = `momentum` (or 1 / num_batches_tracked
///   when `momentum` is nil, a cumulative average), `running_mean` ← (1 − f) running_mean + f μ
///   and `running_var` ← (1 − f) running_var + f σ² m / (m − 1) (the *unbiased* variance, as
///   PyTorch). bprop and grad go through the batch statistics:
///   ∂L/∂x = γ / (m √(σ² + ε)) · (m gy − Σ gy − x̂ Σ gy x̂), with x̂ = (x − μ) / √(σ² + ε).
/// - **evaluation mode**: y = γ (x − running_mean) / √(running_var + ε) + β, an affine map
///   per channel (and so are its bprop and grad).
///
/// ∂L/∂γ = Σ gy x̂ and ∂L/∂β = Σ gy over the channel, in both modes. The running statistics
/// never change the training-mode output, so repeated training-mode fprops (a gradient
/// check's) change the buffers but not the function being differentiated.
public class BatchNorm<Scalar: TensorScalar>: Layer {
    /// C, the size of axis 1.
    public let features: Int
    /// ε, added to the variance.
    public let eps: Double
    /// The weight f of the new statistics in the running ones; nil: a cumulative average.
    public let momentum: Double?
    /// γ `[C]` (init 1), nil without `affine`.
    public let weight: Parameter<Scalar>?
    /// β `[C]` (init 0, no weight decay), nil without `affine`.
    public let bias: Parameter<Scalar>?
    /// `running_mean` `[C]` (init 0).
    public let runningMean: Buffer<Scalar>
    /// `running_var` `[C]` (init 1).
    public let runningVar: Buffer<Scalar>
    /// `num_batches_tracked` `[]` (init 0), a count stored as I64.
    public let numBatchesTracked: Buffer<Scalar>
    /// Training mode (batch statistics, running statistics updated) or evaluation mode.
    public var isTraining = true

    private let name: String
    private let ranks: [Int]
    /// What the last fprop used: the mean and 1/√(σ² + ε) per channel, and whether they
    /// were the batch's (training) or the running ones (evaluation).
    private var usedMean: [Scalar] = []
    private var usedInvStd: [Scalar] = []
    private var usedBatchStatistics = false

    init(name: String, ranks: [Int], features: Int, eps: Double, momentum: Double?, affine: Bool) {
        require(features > 0, "\(name): features must be positive, got \(features)")
        require(eps >= 0, "\(name): eps must be non-negative, got \(eps)")
        require(momentum.map { (0...1).contains($0) } ?? true, "\(name): momentum must lie in 0...1 (or be nil), got \(momentum ?? 0)")
        self.name = name
        self.ranks = ranks
        self.features = features
        self.eps = eps
        self.momentum = momentum
        weight = affine ? Parameter(.ones([features])) : nil
        bias = affine ? Parameter(.zeros([features]), decays: false) : nil
        runningMean = Buffer(.zeros([features]))
        runningVar = Buffer(.ones([features]))
        numBatchesTracked = Buffer(.zeros([]), isCount: true)
    }

    public var description: String {
        "\(name)(\(features), eps: \(eps), momentum: \(momentum.map { "\($0)" } ?? "nil")\(weight == nil ? ", affine: false" : ""))"
    }

    public var namedParameters: [(name: String, parameter: Parameter<Scalar>)] {
        [weight.map { ("weight", $0) }, bias.map { ("bias", $0) }].compactMap { $0 }
    }

    public var namedBuffers: [(name: String, buffer: Buffer<Scalar>)] {
        [("running_mean", runningMean), ("running_var", runningVar), ("num_batches_tracked", numBatchesTracked)]
    }

    public func outputShape(for inputShape: [Int]) throws -> [Int] {
        guard ranks.contains(inputShape.count), inputShape[1] == features else {
            let expected = ranks.map { $0 == 2 ? "[N, \(features)]" : $0 == 3 ? "[N, \(features), L]" : "[N, \(features), H, W]" }
            throw ShapeError("\(self) expects input \(expected.joined(separator: " or ")), got \(inputShape)")
        }
        return inputShape
    }

    /// γ per channel (1 without `affine`) and β (nil without `affine`).
    private var gamma: [Scalar] { weight?.value.scalars ?? Tensor.ones([features]).scalars }
    private var beta: [Scalar]? { bias?.value.scalars }

    /// `count` zeros (filled by the kernel: generic code never loops over the elements).
    private func zeros(_ count: Int) -> [Scalar] { Tensor.zeros([count]).scalars }

    /// (outer, inner) of the input [outer = N, C, inner = spatial size].
    private func geometry(_ shape: [Int]) -> (outer: Int, inner: Int) {
        (shape[0], shape.dropFirst(2).reduce(1, *))
    }

    // input [N, C, *] → output [N, C, *]
    public func fprop(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
        _ = checkedOutputShape(input.shape)
        let (outer, inner) = geometry(input.shape)
        let c = features
        // (every per-channel buffer through the kernels: one call each, no generic loop per element)
        var mean = zeros(c), variance = zeros(c)
        if isTraining {
            let m = outer * inner
            require(m > 1, "\(self): expected more than 1 value per channel when training, got input \(input.shape)")
            input.withUnsafePointer { x in
                Scalar.channelMeanVariance(x, outer: outer, channels: c, inner: inner, mean: &mean, variance: &variance)
            }
            // the running statistics: momentum f, the unbiased variance (as PyTorch)
            numBatchesTracked.value.scalars[0] += 1
            let f = momentum.map { Scalar($0) } ?? 1 / numBatchesTracked.value.scalars[0]
            let unbias = Scalar(m) / Scalar(m - 1)
            runningMean.value.withUnsafeMutablePointer { r in
                Scalar.scal(c, 1 - f, r); Scalar.axpy(c, f, mean, r)
            }
            runningVar.value.withUnsafeMutablePointer { r in
                Scalar.scal(c, 1 - f, r); Scalar.axpy(c, f * unbias, variance, r)
            }
        } else {
            mean = runningMean.value.scalars
            variance = runningVar.value.scalars
        }
        // y = x · scale[c] + shift[c], scale = γ / √(σ² + ε), shift = β − μ · scale
        var invStd = zeros(c), scale = zeros(c), shift = zeros(c)
        Scalar.normalizationCoefficients(
            mean: mean, variance: variance, epsilon: Scalar(eps), gamma: gamma, beta: beta ?? zeros(c),
            channels: c, invStd: &invStd, scale: &scale, shift: &shift)
        usedMean = mean
        usedInvStd = invStd
        usedBatchStatistics = isTraining
        return Tensor(shape: input.shape) { out in
            input.withUnsafePointer { x in
                Scalar.channelScaleShift(x, scale: scale, shift: shift, out, outer: outer, channels: c, inner: inner)
            }
        }
    }

    /// Σ gy and Σ gy (x − μ) per channel, μ the mean the last fprop used.
    private func sums(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) -> (sum: [Scalar], dot: [Scalar]) {
        checkGradOutput(input, gradOutput)
        require(usedMean.count == features, "\(self): bprop/grad before any fprop")
        let (outer, inner) = geometry(input.shape)
        var sum = zeros(features), dot = zeros(features)
        gradOutput.withUnsafePointer { gy in
            input.withUnsafePointer { x in
                Scalar.channelSumAndDot(gy, x, center: usedMean, outer: outer, channels: features, inner: inner, sum: &sum, dot: &dot)
            }
        }
        return (sum, dot)
    }

    // gradOutput [N, C, *] → gradInput [N, C, *]
    public func bprop(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) -> Tensor<Scalar> {
        gradInput(input, gradOutput, sums: usedBatchStatistics ? sums(input, gradOutput) : nil)
    }

    // weight.grad [C] += Σ gy x̂, bias.grad [C] += Σ gy
    public func grad(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) {
        guard weight != nil else { return }
        accumulate(sums(input, gradOutput))
    }

    public func backward(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) -> Tensor<Scalar> {
        let s = sums(input, gradOutput)
        if weight != nil { accumulate(s) }
        return gradInput(input, gradOutput, sums: usedBatchStatistics ? s : nil)
    }

    private func accumulate(_ s: (sum: [Scalar], dot: [Scalar])) {
        guard let weight, let bias else { return }
        var scaled = zeros(features) // Σ gy x̂ = Σ gy (x − μ) · invStd
        Scalar.mul(s.dot, usedInvStd, &scaled, features)
        addToGrad(scaled, of: weight)
        addToGrad(s.sum, of: bias)
    }

    /// ∂L/∂x: through the batch statistics when `sums` is given, else the affine map.
    private func gradInput(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>, sums: (sum: [Scalar], dot: [Scalar])?) -> Tensor<Scalar> {
        checkGradOutput(input, gradOutput)
        require(usedMean.count == features, "\(self): bprop before any fprop")
        let (outer, inner) = geometry(input.shape)
        let c = features
        var a = zeros(c)
        guard let sums else {
            // evaluation statistics: the affine map's gradient, gx = a · gy with a = γ · invStd
            Scalar.mul(gamma, usedInvStd, &a, c)
            return Tensor(shape: input.shape) { out in
                gradOutput.withUnsafePointer { gy in
                    Scalar.channelScaleShift(gy, scale: a, shift: nil, out, outer: outer, channels: c, inner: inner)
                }
            }
        }
        // gx = a gy − (a/m) Σgy − (a/m) x̂ Σ gy x̂, x̂ = (x − μ) s, s = 1/√(σ² + ε)
        //    = a gy + b x + d, b = −(a/m) s² Σ gy (x − μ), d = −(a/m) Σgy − b μ
        var b = zeros(c), d = zeros(c)
        Scalar.normalizationGradientCoefficients(
            gamma: gamma, invStd: usedInvStd, mean: usedMean, sum: sums.sum, dot: sums.dot,
            count: outer * inner, channels: c, a: &a, b: &b, d: &d)
        return Tensor(shape: input.shape) { out in
            gradOutput.withUnsafePointer { gy in
                input.withUnsafePointer { x in
                    Scalar.channelCombine(gy, scaleA: a, x, scaleB: b, shift: d, out, outer: outer, channels: c, inner: inner)
                }
            }
        }
    }
}

/// Adds `values` to `parameter.grad` (overwrites it right after `zeroGrad()`).
func addToGrad<Scalar>(_ values: [Scalar], of parameter: Parameter<Scalar>) {
    parameter.accumulateGrad { grad, beta in
        grad.withUnsafeMutablePointer { g in
            values.withUnsafeBufferPointer { v in
                if beta == 0 { Scalar.copy(v.baseAddress!, g, v.count) } else { Scalar.add(g, v.baseAddress!, g, v.count) }
            }
        }
    }
}

/// Batch normalization of `[N, C]` or `[N, C, L]` over N (and L) per channel, as
/// PyTorch's `nn.BatchNorm1d` (see `BatchNorm` for the math, the modes and the buffers).
public final class BatchNorm1d<Scalar: TensorScalar>: BatchNorm<Scalar> {
    /// C = `features`; `momentum` nil for a cumulative average; `affine` false for no γ, β.
    public init(_ features: Int, eps: Double = 1e-5, momentum: Double? = 0.1, affine: Bool = true) {
        super.init(name: "BatchNorm1d", ranks: [2, 3], features: features, eps: eps, momentum: momentum, affine: affine)
    }
}

/// Batch normalization of `[N, C, H, W]` over N, H and W per channel, as PyTorch's
/// `nn.BatchNorm2d` (see `BatchNorm` for the math, the modes and the buffers).
public final class BatchNorm2d<Scalar: TensorScalar>: BatchNorm<Scalar> {
    /// C = `channels`; `momentum` nil for a cumulative average; `affine` false for no γ, β.
    public init(_ channels: Int, eps: Double = 1e-5, momentum: Double? = 0.1, affine: Bool = true) {
        super.init(name: "BatchNorm2d", ranks: [4], features: channels, eps: eps, momentum: momentum, affine: affine)
    }
}
