// ContrastiveLoss: the margin loss on pairs of codes of a Siamese network (Hadsell,
// Chopra & LeCun 2006).

/// The contrastive loss of pairs of codes: similar pairs are pulled together, dissimilar
/// ones pushed apart until they are at least `margin` apart (Hadsell, Chopra & LeCun 2006).
/// For a pair at distance d = ‖a − b‖ with similarity y (1 similar, 0 dissimilar):
///
///     loss = y · d² + (1 − y) · max(0, m − d)²,
///
/// reduced over the pairs (`.mean` and `.batchMean`: per pair; `.sum`).
///
/// The input holds both members of every pair, as the two towers of a Siamese network
/// produce them: rows [0, N) are the first members a [N, D], rows [N, 2N) the second
/// members b [N, D] (`input` [2N, D]); the target is y [N]. `backward` gives the gradient
/// in the same layout, so its first half goes back through the first pass of the network
/// and its second half through the second.
///
/// ```swift
/// let loss = ContrastiveLoss<Float>(margin: 1)
/// let codes = Tensor<Float>(rows: [[0, 0], [3, 4],  [0, 0], [0, 1]])   // a = (0,0), (3,4); b = (0,0), (0,1)
/// let similar = Tensor<Float>([1, 0])
/// _ = loss.forward(codes, similar)        // (0 + max(0, 1 − 5)²) / 2 = 0
/// ```
///
/// For a dissimilar pair at distance 0 the direction of the push is undefined; its
/// gradient is taken as zero.
public struct ContrastiveLoss<Scalar: TensorScalar>: Criterion {
    /// How far apart dissimilar pairs are pushed (m > 0).
    public var margin: Double
    public var reduction: Reduction

    /// The loss with margin `margin` (default 1), averaged over pairs by default.
    public init(margin: Double = 1, reduction: Reduction = .mean) {
        require(margin > 0 && margin.isFinite, "ContrastiveLoss: the margin must be positive and finite, got \(margin)")
        self.margin = margin
        self.reduction = reduction
    }

    /// The pairs' sizes: (N, D) for input [2N, D] and target [N].
    private func pairShape(_ input: Tensor<Scalar>, _ target: Tensor<Scalar>) -> (pairs: Int, width: Int) {
        require(
            input.shape.count == 2 && input.shape[0] % 2 == 0,
            "ContrastiveLoss: input must be [2N, D] (the first members, then the second members), got shape \(input.shape)")
        let pairs = input.shape[0] / 2
        require(
            target.shape == [pairs],
            "ContrastiveLoss: input \(input.shape) holds \(pairs) pairs, but the target has shape \(target.shape) (expected [\(pairs)])")
        return (pairs, input.shape[1])
    }

    /// The distance of each pair, and the differences a − b, row by row.
    private func differences(_ input: Tensor<Scalar>, pairs: Int, width: Int) -> (distances: [Double], differences: [Double]) {
        let x = input.scalars
        var distances = [Double](repeating: 0, count: pairs), differences = [Double](repeating: 0, count: pairs * width)
        for i in 0..<pairs {
            var sum = 0.0
            for k in 0..<width {
                let d = Double(x[i * width + k]) - Double(x[(pairs + i) * width + k])
                differences[i * width + k] = d
                sum += d * d
            }
            distances[i] = sum.squareRoot()
        }
        return (distances, differences)
    }

    // input [2N, D] (a then b), target y [N] → the reduced loss
    public func forward(_ input: Tensor<Scalar>, _ target: Tensor<Scalar>) -> Scalar {
        let (pairs, width) = pairShape(input, target)
        let (distances, _) = differences(input, pairs: pairs, width: width)
        var total = 0.0
        for i in 0..<pairs {
            let y = Double(target.scalars[i]), d = distances[i], gap = max(0, margin - d)
            total += y * d * d + (1 - y) * gap * gap
        }
        return Scalar(total) * reduction.scale(input, examples: pairs)
    }

    // ∂loss/∂a = 2 (a − b) · (y − (1 − y) · max(0, m − d) / d), ∂loss/∂b = −∂loss/∂a;
    // the result [2N, D] in the input's layout
    public func backward(_ input: Tensor<Scalar>, _ target: Tensor<Scalar>) -> Tensor<Scalar> {
        let (pairs, width) = pairShape(input, target)
        let (distances, differences) = differences(input, pairs: pairs, width: width)
        let scale = Double(reduction.scale(input, examples: pairs))
        var gradient = [Scalar](repeating: 0, count: input.count)
        for i in 0..<pairs {
            let y = Double(target.scalars[i]), d = distances[i], gap = max(0, margin - d)
            let factor = 2 * scale * (y - (d > 0 ? (1 - y) * gap / d : 0))
            for k in 0..<width {
                let g = factor * differences[i * width + k]
                gradient[i * width + k] = Scalar(g)
                gradient[(pairs + i) * width + k] = Scalar(-g)
            }
        }
        return Tensor(shape: input.shape, scalars: gradient)
    }
}
