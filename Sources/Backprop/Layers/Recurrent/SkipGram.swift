// Word2vec's pieces next to Embedding: the sparse update of an embedding's touched rows,
// the skip-gram negative-sampling loss (a criterion, for the verbs), and its fused
// per-example SGD kernel (the speed path: C for Float).
import CKernels
import Foundation

extension Embedding {
    /// Plain SGD on the touched rows only: `weight[indices[m]] −= learningRate · gradOutput[m]`
    /// for each m (a repeated index gets the sum of its rows), without forming the dense
    /// `[vocabularySize, dimension]` gradient. The same result as `zeroGrad()`,
    /// `grad(indices, gradOutput)` and an SGD step without momentum, at a cost proportional
    /// to the rows used rather than to the table. `weight.grad` is not touched.
    ///
    /// ```swift
    /// let table = Embedding<Float>(1000, 8)
    /// table.sparseUpdate(indices: [3, 7, 3], gradOutput: .ones([3, 8]), learningRate: 0.1)  // rows 3 (twice) and 7
    /// ```
    // gradOutput [M, D] (or [M..., D]) for indices [M]
    public func sparseUpdate(indices: [Int], gradOutput: Tensor<Scalar>, learningRate: Double) {
        let d = dimension, rows = vocabularySize
        require(
            gradOutput.count == indices.count * d && gradOutput.shape.last == d,
            "\(self).sparseUpdate: gradOutput \(gradOutput.shape) must be [\(indices.count), \(d)] for \(indices.count) indices")
        if let bad = indices.firstIndex(where: { $0 < 0 || $0 >= rows }) {
            requireFailure("\(self).sparseUpdate: indices[\(bad)] = \(indices[bad]) is not a row in 0..<\(rows)")
        }
        let lr = Scalar(learningRate)
        gradOutput.withUnsafePointer { gy in
            weight.value.withUnsafeMutablePointer { w in
                for (m, row) in indices.enumerated() { Scalar.axpy(d, -lr, gy + m * d, w + row * d) }
            }
        }
    }
}

/// The skip-gram negative-sampling loss of word2vec (Mikolov et al. 2013), summed over
/// examples: each example n is a slice `[2 + K, D]` of the input `[N, 2 + K, D]` holding an
/// input vector u (row 0, a word's row of the input table), the output vector v₀ of a word
/// seen near it (row 1) and K output vectors v₁…v_K of words drawn as negatives (rows 2…):
///
///     loss = Σₙ [ −log σ(u·v₀) − Σⱼ maskₙⱼ · log σ(−u·vⱼ) ]
///
/// The target is the mask `[N·K]`: false for a negative that must not count (one that drew
/// the positive word itself, as word2vec skips it). `backward` gives the gradient for every
/// row: ∂/∂u = −Σₜ (labelₜ − σ(u·vₜ)) vₜ, ∂/∂vₜ = −(labelₜ − σ(u·vₜ)) u, label 1 for v₀, 0 for
/// the rest. One SGD step on it per example is what `SkipGram.train` does in one pass.
///
/// ```swift
/// let u = input.fprop(centers)                    // centers [N] → [N, D]
/// let v = output.fprop(targets)                   // targets [N, 1 + K] → [N, 1 + K, D]
/// let x = SkipGramLoss<Double>.stack(u, v)        // [N, 2 + K, D]
/// let loss = SkipGramLoss<Double>().forward(x, mask)
/// ```
public struct SkipGramLoss<Scalar: TensorScalar>: Criterion {
    public init() {}

    /// Stacks input vectors u `[N, D]` and output vectors v `[N, 1 + K, D]` into the loss's
    /// input `[N, 2 + K, D]`.
    public static func stack(_ u: Tensor<Scalar>, _ v: Tensor<Scalar>) -> Tensor<Scalar> {
        require(
            u.rank == 2 && v.rank == 3 && v.shape[0] == u.shape[0] && v.shape[2] == u.shape[1] && v.shape[1] >= 1,
            "SkipGramLoss.stack: u must be [N, D] and v [N, 1 + K, D], got \(u.shape) and \(v.shape)")
        let (n, d, t) = (u.shape[0], u.shape[1], v.shape[1])
        var out = Tensor<Scalar>(uninitialized: [n, t + 1, d])
        u.withUnsafePointer { up in
            v.withUnsafePointer { vp in
                out.withUnsafeMutablePointer { o in
                    for i in 0..<n {
                        Scalar.copy(up + i * d, o + i * (t + 1) * d, d)
                        Scalar.copy(vp + i * t * d, o + (i * (t + 1) + 1) * d, t * d)
                    }
                }
            }
        }
        return out
    }

    /// Splits a gradient `[N, 2 + K, D]` into the parts for u `[N, D]` and v `[N, 1 + K, D]`.
    public static func unstack(_ g: Tensor<Scalar>) -> (u: Tensor<Scalar>, v: Tensor<Scalar>) {
        require(g.rank == 3 && g.shape[1] >= 2, "SkipGramLoss.unstack: expects [N, 2 + K, D], got \(g.shape)")
        let (n, t, d) = (g.shape[0], g.shape[1] - 1, g.shape[2])
        var u = Tensor<Scalar>(uninitialized: [n, d]), v = Tensor<Scalar>(uninitialized: [n, t, d])
        g.withUnsafePointer { gp in
            u.withUnsafeMutablePointer { up in
                v.withUnsafeMutablePointer { vp in
                    for i in 0..<n {
                        Scalar.copy(gp + i * (t + 1) * d, up + i * d, d)
                        Scalar.copy(gp + (i * (t + 1) + 1) * d, vp + i * t * d, t * d)
                    }
                }
            }
        }
        return (u, v)
    }

    private func shape(_ input: Tensor<Scalar>, _ mask: [Bool]) -> (n: Int, k: Int, d: Int) {
        require(
            input.rank == 3 && input.shape[1] >= 2,
            "SkipGramLoss: input must be [N, 2 + K, D] (u, the positive, K negatives), got \(input.shape)")
        let (n, k, d) = (input.shape[0], input.shape[1] - 2, input.shape[2])
        require(mask.count == n * k, "SkipGramLoss: the mask needs N·K = \(n * k) entries for input \(input.shape), got \(mask.count)")
        return (n, k, d)
    }

    /// The dot products u·vₜ of example i (t = 0 the positive).
    private func dot(_ x: UnsafePointer<Scalar>, _ i: Int, _ t: Int, k: Int, d: Int) -> Scalar {
        let base = x + i * (k + 2) * d
        var s: Scalar = 0
        for j in 0..<d { s += base[j] * base[(t + 1) * d + j] }
        return s
    }

    public func forward(_ input: Tensor<Scalar>, _ mask: [Bool]) -> Scalar {
        let (n, k, d) = shape(input, mask)
        var total = 0.0
        input.withUnsafePointer { x in
            for i in 0..<n {
                total += softplus(-Double(dot(x, i, 0, k: k, d: d)))
                for t in stride(from: 1, through: k, by: 1) where mask[i * k + t - 1] {
                    total += softplus(Double(dot(x, i, t, k: k, d: d)))
                }
            }
        }
        return Scalar(total)
    }

    public func backward(_ input: Tensor<Scalar>, _ mask: [Bool]) -> Tensor<Scalar> {
        let (n, k, d) = shape(input, mask)
        var g = Tensor<Scalar>.zeros(input.shape)
        input.withUnsafePointer { x in
            g.withUnsafeMutablePointer { gp in
                for i in 0..<n {
                    let base = i * (k + 2) * d
                    for t in 0...k where t == 0 || mask[i * k + t - 1] {
                        let f = Double(dot(x, i, t, k: k, d: d))
                        let c = Scalar(-((t == 0 ? 1 : 0) - 1 / (1 + Foundation.exp(-f)))) // ∂loss/∂(u·vₜ)
                        for j in 0..<d {
                            gp[base + j] += c * x[base + (t + 1) * d + j] // ∂/∂u
                            gp[base + (t + 1) * d + j] += c * x[base + j] // ∂/∂vₜ
                        }
                    }
                }
            }
        }
        return g
    }

    private func softplus(_ x: Double) -> Double { x > 0 ? x + Foundation.log1p(Foundation.exp(-x)) : Foundation.log1p(Foundation.exp(x)) }
}

/// The fused skip-gram negative-sampling step (the kernel family of word2vec): per example,
/// one SGD step of `SkipGramLoss` on the k + 2 rows it uses, done in place on the two tables.
public protocol SkipGramKernels {
    /// For each example p in 0..<count: u = input row `inputs[p]`, targets `positives[p]`
    /// (label 1) and `negatives[p·k ..< p·k + k]` (label 0, one equal to the positive is
    /// skipped); with f = u·vₜ and g = lr·(label − σ(f)): e += g·vₜ, then vₜ += g·u, for each
    /// target in turn; last u += e. Returns the examples' summed loss (from the dot products
    /// before each update). input, output `[*, dimension]`; work `[dimension]` scratch.
    /// Indices are not checked (the caller has).
    static func skipGramNegativeSampling(
        input: UnsafeMutablePointer<Self>, output: UnsafeMutablePointer<Self>, dimension: Int,
        inputs: UnsafePointer<Int32>, positives: UnsafePointer<Int32>,
        negatives: UnsafePointer<Int32>, count: Int, negativesPerExample k: Int,
        learningRate: Self, work: UnsafeMutablePointer<Self>
    ) -> Double
}

extension SkipGramKernels where Self: TensorScalar {
    // input, output [*, D]; inputs, positives [count]; negatives [count, k]; work [D]
    public static func skipGramNegativeSampling(
        input: UnsafeMutablePointer<Self>, output: UnsafeMutablePointer<Self>, dimension d: Int,
        inputs: UnsafePointer<Int32>, positives: UnsafePointer<Int32>,
        negatives: UnsafePointer<Int32>, count: Int, negativesPerExample k: Int,
        learningRate lr: Self, work e: UnsafeMutablePointer<Self>
    ) -> Double {
        var loss = 0.0
        for p in 0..<count {
            let u = input + Int(inputs[p]) * d
            for j in 0..<d { e[j] = 0 }
            let positive = positives[p]
            for t in 0...k {
                let target = t == 0 ? positive : negatives[p * k + t - 1]
                if t > 0 && target == positive { continue }
                let v = output + Int(target) * d
                var f: Self = 0
                for j in 0..<d { f += u[j] * v[j] }
                let x = Double(f)
                loss +=
                    t == 0
                    ? (x < 0 ? -x + Foundation.log1p(Foundation.exp(x)) : Foundation.log1p(Foundation.exp(-x)))
                    : (x > 0 ? x + Foundation.log1p(Foundation.exp(-x)) : Foundation.log1p(Foundation.exp(x)))
                let g = lr * ((t == 0 ? 1 : 0) - Self(1 / (1 + Foundation.exp(-x))))
                for j in 0..<d { e[j] += g * v[j] }
                for j in 0..<d { v[j] += g * u[j] }
            }
            for j in 0..<d { u[j] += e[j] }
        }
        return loss
    }
}

extension Float {
    /// `SkipGramKernels.skipGramNegativeSampling` as vectorized C (Sources/CKernels/word2vec.c).
    public static func skipGramNegativeSampling(
        input: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>, dimension: Int,
        inputs: UnsafePointer<Int32>, positives: UnsafePointer<Int32>,
        negatives: UnsafePointer<Int32>, count: Int, negativesPerExample k: Int,
        learningRate: Float, work: UnsafeMutablePointer<Float>
    ) -> Double {
        bp_skipgram_ns_f32(input, output, dimension, inputs, positives, negatives, count, k, learningRate, work)
    }
}

/// Skip-gram training steps on a pair of embeddings (word2vec's input and output tables).
public enum SkipGram {
    /// One SGD step of `SkipGramLoss` per example, in order, on the rows the examples use
    /// (the sparse update; nothing else of either table is read or written): example p has
    /// input word `inputs[p]` (a row of `input`), positive `positives[p]` and negatives
    /// `negatives[p·k ..< p·k + k]` (rows of `output`). Returns the summed loss. Indices are
    /// checked (all must be rows of their table). For Hogwild training over several
    /// threads, call `skipGramNegativeSampling` on each thread with the same table pointers.
    ///
    /// ```swift
    /// let loss = SkipGram.train(input: words, output: contexts, inputs: [4], positives: [9],
    ///                           negatives: [1, 2, 3, 5, 8], learningRate: 0.025)
    /// ```
    @discardableResult
    public static func train<Scalar: TensorScalar>(
        input: Embedding<Scalar>, output: Embedding<Scalar>, inputs: [Int32],
        positives: [Int32], negatives: [Int32], learningRate: Double
    ) -> Double {
        let d = input.dimension
        require(output.dimension == d, "SkipGram.train: the tables' dimensions differ: \(input) and \(output)")
        require(
            positives.count == inputs.count && (inputs.isEmpty || negatives.count % inputs.count == 0),
            "SkipGram.train: \(inputs.count) inputs, \(positives.count) positives and \(negatives.count) negatives (a multiple of the inputs) do not match"
        )
        guard !inputs.isEmpty else { return 0 }
        let k = negatives.count / inputs.count
        if let bad = inputs.firstIndex(where: { $0 < 0 || Int($0) >= input.vocabularySize }) {
            requireFailure("SkipGram.train: inputs[\(bad)] = \(inputs[bad]) is not a row of \(input)")
        }
        if let bad = (positives + negatives).firstIndex(where: { $0 < 0 || Int($0) >= output.vocabularySize }) {
            requireFailure(
                "SkipGram.train: target \(bad) (positives, then negatives) = \((positives + negatives)[bad]) is not a row of \(output)")
        }
        var work = [Scalar](repeating: 0, count: d)
        return input.weight.value.withUnsafeMutablePointer { u in
            output.weight.value.withUnsafeMutablePointer { v in
                Scalar.skipGramNegativeSampling(
                    input: u, output: v, dimension: d, inputs: inputs, positives: positives,
                    negatives: negatives, count: inputs.count, negativesPerExample: k,
                    learningRate: Scalar(learningRate), work: &work)
            }
        }
    }
}
