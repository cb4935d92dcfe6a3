/// How a layer's weights start. `fanIn` is the number of inputs feeding one unit,
/// `fanOut` the number of units one input feeds.
public enum Initializer: String, CaseIterable, Sendable {
    /// Uniform in ±1/√fanIn: the rule of the lecture notes and Torch7's default.
    case uniformFanIn
    /// Glorot & Bengio (2010): uniform in ±√(6 / (fanIn + fanOut)).
    case glorotUniform
    /// Glorot & Bengio (2010): normal with std √(2 / (fanIn + fanOut)).
    case glorotNormal
    /// He et al. (2015), for ReLU networks: normal with std √(2 / fanIn).
    case heNormal
    /// All zeros.
    case zeros

    /// A tensor of `shape` drawn by this rule.
    public func make<Scalar: TensorScalar>(
        _ shape: [Int], fanIn: Int, fanOut: Int,
        using rng: inout Random
    ) -> Tensor<Scalar> {
        let fanIn = Double(max(fanIn, 1)), fanOut = Double(max(fanOut, 1))
        switch self {
        case .uniformFanIn:
            let a = Scalar(1 / fanIn.squareRoot())
            return .uniform(shape, in: -a...a, using: &rng)
        case .glorotUniform:
            let a = Scalar((6 / (fanIn + fanOut)).squareRoot())
            return .uniform(shape, in: -a...a, using: &rng)
        case .glorotNormal:
            return .normal(shape, std: Scalar((2 / (fanIn + fanOut)).squareRoot()), using: &rng)
        case .heNormal:
            return .normal(shape, std: Scalar((2 / fanIn).squareRoot()), using: &rng)
        case .zeros:
            return .zeros(shape)
        }
    }
}
