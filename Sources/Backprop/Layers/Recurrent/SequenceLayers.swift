// Modules around the recurrent layers: LastStep, Embedding, TimeMajor.
// Sequences are time-major, [T, N, F], as the recurrent layers take them.

/// Keeps only the last time step of a sequence: `[T, N, H] → [N, H]` (for a classifier on
/// top of a recurrent layer). bprop puts the gradient back at step T, zeros elsewhere.
public final class LastStep<Scalar: TensorScalar>: Layer {
    public init() {}

    public func outputShape(for inputShape: [Int]) throws -> [Int] {
        guard inputShape.count == 3, inputShape[0] > 0 else {
            throw ShapeError("LastStep expects a sequence [T, N, H] with T ≥ 1, got \(inputShape)")
        }
        return Array(inputShape.dropFirst())
    }

    // input [T, N, H] → output [N, H] = input[T − 1]
    public func fprop(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
        let shape = checkedOutputShape(input.shape)
        let step = shape.reduce(1, *), offset = (input.shape[0] - 1) * step
        return input.withUnsafePointer { x in Tensor(shape: shape) { Scalar.copy(x + offset, $0, step) } }
    }

    // gradOutput [N, H] → gradInput [T, N, H], zeros except at step T − 1
    public func bprop(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) -> Tensor<Scalar> {
        checkGradOutput(input, gradOutput)
        let step = gradOutput.count, offset = (input.shape[0] - 1) * step
        var gradInput = Tensor<Scalar>.zeros(input.shape)
        gradOutput.withUnsafePointer { gy in gradInput.withUnsafeMutablePointer { Scalar.copy(gy, $0 + offset, step) } }
        return gradInput
    }
}

/// A lookup table of `vocabularySize` vectors of `dimension` scalars, as PyTorch's
/// `nn.Embedding`: the input holds integer indices (as scalars, any shape), the output
/// has the input's shape plus `[dimension]`. `grad` scatter-adds, so an index that occurs
/// several times accumulates all its gradients. Indices have no gradient: `bprop` returns
/// zeros of the input's shape.
///
/// ```swift
/// let embed = Embedding<Float>(65, 64)        // weight [65, 64], normal(0, 1) as PyTorch
/// let v = embed.fprop(characters)             // characters [T, N] → v [T, N, 64]
/// ```
public final class Embedding<Scalar: TensorScalar>: Layer {
    /// weight `[vocabularySize, dimension]`: row k is the vector of index k.
    public let weight: Parameter<Scalar>

    /// Number of rows (valid indices are 0..<vocabularySize).
    public var vocabularySize: Int { weight.value.shape[0] }
    /// Size of each vector.
    public var dimension: Int { weight.value.shape[1] }

    /// A table with entries drawn from a standard normal distribution, as PyTorch.
    public init(_ vocabularySize: Int, _ dimension: Int, using rng: inout Random) {
        require(
            vocabularySize > 0 && dimension > 0,
            "Embedding: sizes must be positive, got \(vocabularySize) × \(dimension)")
        weight = Parameter(.normal([vocabularySize, dimension], using: &rng))
    }

    /// A table initialised from the global generator.
    public convenience init(_ vocabularySize: Int, _ dimension: Int) {
        self.init(vocabularySize, dimension, using: &Random.global)
    }

    /// A table using an existing weight `[vocabularySize, dimension]` (shared with other layers).
    public init(weight: Parameter<Scalar>) {
        require(weight.value.rank == 2, "Embedding(weight:): the weight must be [vocabularySize, dimension], got \(weight.value.shape)")
        self.weight = weight
    }

    public var description: String { "Embedding(\(vocabularySize), \(dimension))" }
    public var namedParameters: [(name: String, parameter: Parameter<Scalar>)] { [("weight", weight)] }

    public func outputShape(for inputShape: [Int]) throws -> [Int] { inputShape + [dimension] }

    // indices [M...] → output [M..., D]
    public func fprop(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
        let shape = checkedOutputShape(input.shape)
        let (rows, d) = (vocabularySize, dimension)
        var output = Tensor<Scalar>(uninitialized: shape)
        let bad = input.withUnsafePointer { x in
            weight.value.withUnsafePointer { w in
                output.withUnsafeMutablePointer { out in
                    Scalar.embeddingGather(indices: x, count: input.count, table: w, rows: rows, dimension: d, out)
                }
            }
        }
        if let bad {
            requireFailure(
                "\(self): input element \(bad) is \(input.scalars[bad]), not an index in 0..<\(rows) (input shape \(input.shape))")
        }
        return output
    }

    /// Indices have no gradient: zeros of the input's shape.
    public func bprop(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) -> Tensor<Scalar> {
        checkGradOutput(input, gradOutput)
        return .zeros(input.shape)
    }

    // weight.grad [V, D] += gradOutput [M, D] scattered to the rows named by the indices
    public func grad(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) {
        checkGradOutput(input, gradOutput)
        let d = dimension
        input.withUnsafePointer { x in
            gradOutput.withUnsafePointer { gy in
                weight.grad.withUnsafeMutablePointer { gw in
                    Scalar.embeddingScatterAdd(indices: x, count: input.count, gradOutput: gy, gradTable: gw, dimension: d)
                }
            }
        }
    }
}

/// Reorders a batch of sequences from batch-major `[N, T, F]` to the time-major
/// `[T, N, F]` that the recurrent layers take. A flat `[N, T·F]` input (an MNIST batch,
/// each image read row by row) is accepted too. bprop reorders the gradient back.
///
/// ```swift
/// let model = Sequential<Float> {
///     TimeMajor(steps: 28)                   // [N, 784] → [28, N, 28]
///     LSTM(28, 128); LastStep(); Linear(128, 10)
/// }
/// ```
public final class TimeMajor<Scalar: TensorScalar>: Layer {
    /// T, the number of time steps in each example.
    public let steps: Int

    public init(steps: Int) {
        require(steps > 0, "TimeMajor: steps must be positive, got \(steps)")
        self.steps = steps
    }

    public var description: String { "TimeMajor(steps: \(steps))" }

    public func outputShape(for inputShape: [Int]) throws -> [Int] {
        if inputShape.count == 3, inputShape[1] == steps { return [steps, inputShape[0], inputShape[2]] }
        if inputShape.count == 2, inputShape[1] % steps == 0 { return [steps, inputShape[0], inputShape[1] / steps] }
        throw ShapeError("\(self) expects input [N, \(steps), F] or [N, \(steps)·F], got \(inputShape)")
    }

    // input [N, T, F] → output [T, N, F]
    public func fprop(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
        let shape = checkedOutputShape(input.shape)
        return input.reshaped([shape[1], shape[0], shape[2]]).swappingLeadingAxes()
    }

    // gradOutput [T, N, F] → gradInput [N, T, F], in the input's shape
    public func bprop(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) -> Tensor<Scalar> {
        checkGradOutput(input, gradOutput)
        return gradOutput.swappingLeadingAxes().reshaped(input.shape)
    }
}

extension Tensor {
    /// The tensor with its first two axes swapped, `[A, B, ...] → [B, A, ...]` (a copy):
    /// batch-major `[N, T, F]` sequences to time-major `[T, N, F]`, and back.
    public func swappingLeadingAxes() -> Tensor {
        require(rank >= 2, "swappingLeadingAxes: needs at least two axes, got shape \(shape)")
        let (a, b) = (shape[0], shape[1]), inner = shape.dropFirst(2).reduce(1, *)
        return withUnsafePointer { x in
            Tensor(shape: [b, a] + shape.dropFirst(2)) { Scalar.swapLeadingAxes(x, $0, a: a, b: b, inner: inner) }
        }
    }
}
