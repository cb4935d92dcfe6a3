import Foundation

/// Draws one class index per row of `logits` (`[V]` or `[N, V]`: the last axis holds the
/// scores) from softmax(logits / temperature), with uniform numbers from `rng`.
///
/// Temperature 1 samples the model's own distribution; lower temperatures sharpen it
/// towards the likeliest class (0 is the argmax, greedy decoding), higher ones flatten it.
///
/// ```swift
/// let scores = model.fprop(x)                                    // [1, 1, V]
/// let next = sampleFromLogits(scores, temperature: 0.8, using: &rng)[0]
/// ```
public func sampleFromLogits<Scalar: TensorScalar>(
    _ logits: Tensor<Scalar>, temperature: Double = 1,
    using rng: inout Random
) -> [Int] {
    require(temperature >= 0 && temperature.isFinite, "sampleFromLogits: temperature must be finite and >= 0, got \(temperature)")
    let (rows, cols) = logits.matrixShape
    require(cols > 0, "sampleFromLogits: logits of shape \(logits.shape) have no classes")
    return logits.withUnsafePointer { x in
        (0..<rows).map { r in
            Scalar.sampleSoftmax(logits: x + r * cols, count: cols, temperature: temperature, uniform: rng.nextUnit())
        }
    }
}

/// The sampling loop, a static requirement of the scalar type like every element loop.
public protocol SamplingKernels {

    /// An index drawn from softmax(logits / temperature) over logits [count], using the
    /// uniform number `uniform` in [0, 1). Temperature 0 gives the argmax (greedy).
    static func sampleSoftmax(logits: UnsafePointer<Self>, count: Int, temperature: Double, uniform: Double) -> Int
}

extension SamplingKernels where Self: TensorScalar {
    // logits [count]
    public static func sampleSoftmax(logits: UnsafePointer<Self>, count: Int, temperature: Double, uniform: Double) -> Int {
        require(count > 0, "sampleSoftmax: no logits to sample from")
        var best = 0
        for k in 1..<count where logits[k] > logits[best] { best = k }
        if temperature <= 0 { return best }
        // softmax in Double, shifted by the maximum: weights e^((x − max)/T) ≤ 1
        let top = Double(logits[best])
        var total = 0.0
        for k in 0..<count { total += Foundation.exp((Double(logits[k]) - top) / temperature) }
        var threshold = uniform * total
        for k in 0..<count {
            threshold -= Foundation.exp((Double(logits[k]) - top) / temperature)
            if threshold < 0 { return k }
        }
        return best // rounding left a sliver at the end: give it to the likeliest class
    }
}
