// Layer normalization over the trailing axes, as PyTorch's nn.LayerNorm.

/// Layer normalization: each sample is normalised over its trailing axes
/// `normalizedShape` (D elements), with statistics of its own, in training and
/// evaluation mode alike (no buffers):
///
///     μ = mean x, σ² = mean (x − μ)² (biased), x̂ = (x − μ) / √(σ² + ε), y = γ ⊙ x̂ + β
///
/// over each row of D, with γ, β of shape `normalizedShape` (PyTorch's `weight` init 1,
/// `bias` init 0). Input `[..., normalizedShape...]`, output the same shape.
/// Backward, per row, with g = γ ⊙ gy: ∂L/∂x = (D g − Σ g − x̂ Σ g x̂) / (D √(σ² + ε));
/// ∂L/∂γ = Σ_rows gy ⊙ x̂, ∂L/∂β = Σ_rows gy.
public final class LayerNorm<Scalar: TensorScalar>: Layer {
    /// The trailing axes normalised over.
    public let normalizedShape: [Int]
    /// ε, added to the variance.
    public let eps: Double
    /// γ (shape `normalizedShape`), nil without `elementwiseAffine`.
    public let weight: Parameter<Scalar>?
    /// β (shape `normalizedShape`, no weight decay), nil without `elementwiseAffine`.
    public let bias: Parameter<Scalar>?

    /// D, the number of elements normalised together.
    private let size: Int
    /// From the last fprop: x̂ and 1/√(σ² + ε) per row.
    private var normalized = Tensor<Scalar>.zeros([0])
    private var invStd: [Scalar] = []

    /// Normalises over the trailing axes `normalizedShape` (e.g. `[features]`).
    public init(normalizedShape: [Int], eps: Double = 1e-5, elementwiseAffine: Bool = true) {
        require(
            !normalizedShape.isEmpty && normalizedShape.allSatisfy { $0 > 0 },
            "LayerNorm: normalizedShape must be non-empty with positive sizes, got \(normalizedShape)")
        require(eps >= 0, "LayerNorm: eps must be non-negative, got \(eps)")
        self.normalizedShape = normalizedShape
        self.eps = eps
        size = normalizedShape.reduce(1, *)
        weight = elementwiseAffine ? Parameter(.ones(normalizedShape)) : nil
        bias = elementwiseAffine ? Parameter(.zeros(normalizedShape), decays: false) : nil
    }

    public var description: String {
        "LayerNorm(\(normalizedShape), eps: \(eps)\(weight == nil ? ", elementwiseAffine: false" : ""))"
    }

    public var namedParameters: [(name: String, parameter: Parameter<Scalar>)] {
        [weight.map { ("weight", $0) }, bias.map { ("bias", $0) }].compactMap { $0 }
    }

    public func outputShape(for inputShape: [Int]) throws -> [Int] {
        guard inputShape.count >= normalizedShape.count, Array(inputShape.suffix(normalizedShape.count)) == normalizedShape else {
            throw ShapeError("\(self) expects input [..., \(normalizedShape.map(String.init).joined(separator: ", "))], got \(inputShape)")
        }
        return inputShape
    }

    /// `count` zeros (filled by the kernel: generic code never loops over the elements).
    private func zeros(_ count: Int) -> [Scalar] { Tensor.zeros([count]).scalars }

    // input [..., D] (as [rows, D]) → output [..., D]
    public func fprop(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
        _ = checkedOutputShape(input.shape)
        let rows = input.count / size, d = size
        // (per-row buffers through the kernels: no generic loop per element)
        var mean = zeros(rows), variance = zeros(rows), scale = zeros(rows), shift = zeros(rows)
        input.withUnsafePointer { x in
            // per row: [1, rows, D]
            Scalar.channelMeanVariance(x, outer: 1, channels: rows, inner: d, mean: &mean, variance: &variance)
        }
        // x̂ = (x − mean) · invStd: scale = invStd, shift = −mean · invStd
        invStd = zeros(rows)
        Scalar.normalizationCoefficients(
            mean: mean, variance: variance, epsilon: Scalar(eps), gamma: Tensor.ones([rows]).scalars, beta: zeros(rows),
            channels: rows, invStd: &invStd, scale: &scale, shift: &shift)
        normalized = Tensor(shape: input.shape) { out in
            input.withUnsafePointer { x in
                Scalar.channelScaleShift(x, scale: invStd, shift: shift, out, outer: 1, channels: rows, inner: d)
            }
        }
        guard let weight, let bias else { return normalized }
        // y = γ ⊙ x̂ + β per position: [rows, D, 1]
        return Tensor(shape: input.shape) { out in
            normalized.withUnsafePointer { xhat in
                weight.value.withUnsafePointer { g in
                    bias.value.withUnsafePointer { b in
                        Scalar.channelScaleShift(xhat, scale: g, shift: b, out, outer: rows, channels: d, inner: 1)
                    }
                }
            }
        }
    }

    private func checkCache(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) {
        checkGradOutput(input, gradOutput)
        require(normalized.shape == input.shape, "\(self): bprop/grad for input \(input.shape) after an fprop of \(normalized.shape)")
    }

    // gradOutput [..., D] → gradInput [..., D]
    public func bprop(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) -> Tensor<Scalar> {
        checkCache(input, gradOutput)
        let rows = input.count / size, d = size
        // g = γ ⊙ gy ([rows, D, 1])
        let g: Tensor<Scalar>
        if let weight {
            g = Tensor(shape: input.shape) { out in
                gradOutput.withUnsafePointer { gy in
                    weight.value.withUnsafePointer { w in
                        Scalar.channelScaleShift(gy, scale: w, shift: nil, out, outer: rows, channels: d, inner: 1)
                    }
                }
            }
        } else {
            g = gradOutput
        }
        // per row ([1, rows, D]): Σ g, Σ g x̂; gx = s g − (s/D) x̂ Σ g x̂ − (s/D) Σ g
        var sum = zeros(rows), dot = zeros(rows)
        g.withUnsafePointer { gp in
            normalized.withUnsafePointer { xhat in
                Scalar.channelSumAndDot(gp, xhat, center: nil, outer: 1, channels: rows, inner: d, sum: &sum, dot: &dot)
            }
        }
        // scaleB = −(s/D) Σ g x̂, shift = −(s/D) Σ g
        var scaleB = zeros(rows), shift = zeros(rows)
        Scalar.mul(invStd, dot, &scaleB, rows)
        Scalar.scal(rows, -1 / Scalar(d), &scaleB)
        Scalar.mul(invStd, sum, &shift, rows)
        Scalar.scal(rows, -1 / Scalar(d), &shift)
        return Tensor(shape: input.shape) { out in
            g.withUnsafePointer { gp in
                normalized.withUnsafePointer { xhat in
                    Scalar.channelCombine(gp, scaleA: invStd, xhat, scaleB: scaleB, shift: shift, out, outer: 1, channels: rows, inner: d)
                }
            }
        }
    }

    // weight.grad [D] += Σ_rows gy ⊙ x̂, bias.grad [D] += Σ_rows gy
    public func grad(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) {
        guard let weight, let bias else { return }
        checkCache(input, gradOutput)
        let rows = input.count / size, d = size
        var sum = zeros(d), dot = zeros(d)
        gradOutput.withUnsafePointer { gy in
            normalized.withUnsafePointer { xhat in
                Scalar.channelSumAndDot(gy, xhat, center: nil, outer: rows, channels: d, inner: 1, sum: &sum, dot: &dot)
            }
        }
        addToGrad(dot, of: weight)
        addToGrad(sum, of: bias)
    }
}
