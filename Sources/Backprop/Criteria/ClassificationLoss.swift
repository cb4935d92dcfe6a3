// Cross-entropy and negative log-likelihood: the classification criteria over class indices.

/// Negative log-likelihood of class indices, given log-probabilities `[N, C]` (or
/// `[..., C]`: all leading axes are examples). Use after `LogSoftmax`.
public struct NLLLoss<Scalar: TensorScalar>: Criterion {
    public var reduction: Reduction
    public init(reduction: Reduction = .mean) { self.reduction = reduction }

    public func forward(_ input: Tensor<Scalar>, _ target: [Int]) -> Scalar {
        let (rows, cols) = checkTargets("NLLLoss", input, target)
        var total: Scalar = 0
        input.withUnsafePointer { x in for r in 0..<rows { total -= x[r * cols + target[r]] } }
        return total * reduction.scale(input, examples: rows)
    }

    public func backward(_ input: Tensor<Scalar>, _ target: [Int]) -> Tensor<Scalar> {
        let (rows, cols) = checkTargets("NLLLoss", input, target)
        var g = Tensor<Scalar>.zeros(input.shape)
        let scale: Scalar = reduction.scale(input, examples: rows)
        g.withUnsafeMutablePointer { gp in for r in 0..<rows { gp[r * cols + target[r]] = -scale } }
        return g
    }
}

/// Cross-entropy of class indices against raw scores (logits) `[N, C]`: log-softmax
/// (with max subtraction) then NLL, in one module. Gradient: softmax(input) − onehot(target),
/// the target's entry computed as −Σ_{j≠target} p_j rather than p_target − 1, which cancels
/// to 0 once p_target rounds to 1 (a confident example would lose the part of its gradient
/// that lowers its own class: FGSM's input gradient depends on it).
public struct CrossEntropyLoss<Scalar: TensorScalar>: Criterion {
    public var reduction: Reduction
    public init(reduction: Reduction = .mean) { self.reduction = reduction }

    private func logSoftmax(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
        let (rows, cols) = input.matrixShape
        return input.mapped { x, y, _ in Scalar.logSoftmaxRows(x, y, rows: rows, cols: cols) }
    }

    public func forward(_ input: Tensor<Scalar>, _ target: [Int]) -> Scalar {
        _ = checkTargets("CrossEntropyLoss", input, target)
        return NLLLoss(reduction: reduction).forward(logSoftmax(input), target)
    }

    public func backward(_ input: Tensor<Scalar>, _ target: [Int]) -> Tensor<Scalar> {
        let (rows, cols) = checkTargets("CrossEntropyLoss", input, target)
        let scale: Scalar = reduction.scale(input, examples: rows)
        var g = logSoftmax(input).mapped(Scalar.exp) // softmax
        g.withUnsafeMutablePointer { gp in
            for r in 0..<rows {
                // p_y − 1 = −Σ_{j≠y} p_j, summed from the small terms (no cancellation)
                let row = gp + r * cols, y = target[r]
                var others: Scalar = 0
                for j in 0..<cols where j != y { others += row[j] }
                row[y] = -others
            }
            Scalar.scal(rows * cols, scale, gp)
        }
        return g
    }
}

/// Checks class targets against scores `[rows, cols]`: one target per row, each in 0..<cols.
func checkTargets<Scalar>(_ what: String, _ input: Tensor<Scalar>, _ target: [Int]) -> (rows: Int, cols: Int) {
    let (rows, cols) = input.matrixShape
    require(
        input.rank >= 1 && target.count == rows,
        "\(what): input of shape \(input.shape) has \(rows) rows but \(target.count) targets were given")
    if let bad = target.firstIndex(where: { $0 < 0 || $0 >= cols }) {
        requireFailure("\(what): target[\(bad)] = \(target[bad]) is not a class index in 0..<\(cols) (input shape \(input.shape))")
    }
    return (rows, cols)
}
