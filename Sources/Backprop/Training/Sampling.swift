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
public func sampleFromLogits<Scalar: TensorScalar>(_ logits: Tensor<Scalar>, temperature: Double = 1,
                                                   using rng: inout Random) -> [Int] {
    require(temperature >= 0 && temperature.isFinite, "sampleFromLogits: temperature must be finite and >= 0, got \(temperature)")
    let (rows, cols) = logits.matrixShape
    require(cols > 0, "sampleFromLogits: logits of shape \(logits.shape) have no classes")
    return logits.withUnsafePointer { x in
        (0..<rows).map { r in
            Scalar.sampleSoftmax(logits: x + r * cols, count: cols, temperature: temperature, uniform: rng.nextUnit())
        }
    }
}
