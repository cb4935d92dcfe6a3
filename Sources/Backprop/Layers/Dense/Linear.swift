/// A fully connected layer: y = x Wᵀ + b, applied to the last axis of any-rank input
/// (`[N, in]`, or `[T, N, in]` for sequences), with the weight in PyTorch's layout
/// `[out, in]`.
///
/// A *tied* layer (`Linear(tiedTo: encoder)`) uses another layer's weight transposed,
/// y = x W + b, mapping `out → in` of the encoder. Both layers then hold the same
/// `Parameter`, and both uses add their gradient into it.
public final class Linear<Scalar: TensorScalar>: Layer {
    /// `[out, in]` (for a tied layer, the encoder's weight: `[in, out]` of this layer).
    public let weight: Parameter<Scalar>
    /// `[out]`, or nil for a layer without bias.
    public let bias: Parameter<Scalar>?
    /// True when the weight is used transposed (a tied decoder).
    public let isTransposed: Bool

    /// Size of the last axis of the input.
    public var inputSize: Int { weight.value.shape[isTransposed ? 0 : 1] }
    /// Size of the last axis of the output.
    public var outputSize: Int { weight.value.shape[isTransposed ? 1 : 0] }

    /// A layer `inputSize → outputSize`, weights drawn by `initializer` from `rng`
    /// (the bias too for `.uniformFanIn`, as in Torch7; zeros otherwise).
    public init(
        _ inputSize: Int, _ outputSize: Int, bias: Bool = true,
        initializer: Initializer = .uniformFanIn, using rng: inout Random
    ) {
        require(inputSize > 0 && outputSize > 0, "Linear: sizes must be positive, got \(inputSize) -> \(outputSize)")
        weight = Parameter(initializer.make([outputSize, inputSize], fanIn: inputSize, fanOut: outputSize, using: &rng))
        self.bias =
            bias
            ? Parameter(
                initializer == .uniformFanIn
                    ? Initializer.uniformFanIn.make([outputSize], fanIn: inputSize, fanOut: outputSize, using: &rng)
                    : .zeros([outputSize]),
                decays: false) : nil
        isTransposed = false
    }

    /// A layer `inputSize → outputSize` initialised from the global generator.
    public convenience init(_ inputSize: Int, _ outputSize: Int, bias: Bool = true, initializer: Initializer = .uniformFanIn) {
        self.init(inputSize, outputSize, bias: bias, initializer: initializer, using: &Random.global)
    }

    /// A layer using an existing weight `[out, in]` (shared with other layers), used as is
    /// or transposed, with its own bias (zeros) if `bias` is true.
    public init(weight: Parameter<Scalar>, transposed: Bool = false, bias: Bool = true) {
        require(weight.value.rank == 2, "Linear(weight:): the weight must be [out, in], got \(weight.value.shape)")
        self.weight = weight
        isTransposed = transposed
        self.bias = bias ? Parameter(.zeros([weight.value.shape[transposed ? 1 : 0]]), decays: false) : nil
    }

    /// The tied decoder of `encoder`: it maps the encoder's output back to its input
    /// size with the encoder's weight transposed, and a bias of its own.
    public convenience init(tiedTo encoder: Linear, bias: Bool = true) {
        self.init(weight: encoder.weight, transposed: !encoder.isTransposed, bias: bias)
    }

    public var description: String {
        "Linear(\(inputSize) -> \(outputSize)\(bias == nil ? ", no bias" : "")\(isTransposed ? ", tied" : ""))"
    }

    public var namedParameters: [(name: String, parameter: Parameter<Scalar>)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }

    public func outputShape(for inputShape: [Int]) throws -> [Int] {
        guard let last = inputShape.last, last == inputSize else {
            throw ShapeError("\(self) expects input [..., \(inputSize)], got \(inputShape)")
        }
        return inputShape.dropLast() + [outputSize]
    }

    // input [M..., in], weight [out, in] → output [M..., out]
    public func fprop(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
        let shape = checkedOutputShape(input.shape)
        let rows = input.matrixShape.rows
        var output: Tensor<Scalar>
        if let bias {
            // start from the bias on every row, then one GEMM adds x·Wᵀ (beta = 1)
            output = Tensor(shape: shape) { out in
                bias.value.withUnsafePointer { b in
                    for r in 0..<rows { Scalar.copy(b, out + r * outputSize, outputSize) }
                }
            }
        } else {
            output = Tensor(uninitialized: shape)
        }
        Tensor.gemm(input, weight.value, transposeB: !isTransposed, beta: bias == nil ? 0 : 1, into: &output)
        return output
    }

    // gradOutput [M..., out] → gradInput [M..., in] = gradOutput · W
    public func bprop(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) -> Tensor<Scalar> {
        checkGradOutput(input, gradOutput)
        var gradInput = Tensor<Scalar>(uninitialized: input.shape)
        Tensor.gemm(gradOutput, weight.value, transposeB: isTransposed, into: &gradInput)
        return gradInput
    }

    // weight.grad [out, in] += gradOutputᵀ [out, M] · input [M, in]; bias.grad [out] += Σ_rows gradOutput
    public func grad(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) {
        checkGradOutput(input, gradOutput)
        weight.accumulateGrad { gradWeight, beta in
            if isTransposed {
                // tied: y = x·W with W [in', out'] seen from the encoder → W.grad += xᵀ · gradOutput
                Tensor.gemm(input, gradOutput, transposeA: true, beta: beta, into: &gradWeight)
            } else {
                Tensor.gemm(gradOutput, input, transposeA: true, beta: beta, into: &gradWeight)
            }
        }
        if let bias {
            let (rows, cols) = gradOutput.matrixShape
            bias.accumulateGrad { gradBias, beta in
                gradOutput.withUnsafePointer { g in
                    gradBias.withUnsafeMutablePointer { Scalar.columnSums(g, rows: rows, cols: cols, $0, accumulate: beta != 0) }
                }
            }
        }
    }
}
