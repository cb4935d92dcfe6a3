/// Dropout (Srivastava et al., 2014): while training, each input is set to zero with
/// probability `p` and the kept ones are scaled by 1/(1 − p) ("inverted" dropout), so the
/// expected output equals the input and evaluation needs no rescaling. In evaluation mode
/// (`isTraining == false`) it is the identity.
///
/// The mask comes from the layer's own seeded generator (`rng`, seeded from
/// `Random.global` when the layer is made), so a run is reproducible; set `rng` to
/// choose the masks. bprop multiplies the gradient by the mask of the last `fprop`.
///
/// For a gradient check, fix the mask: `freezeMask()` after one `fprop` keeps that mask,
/// or set `fixedMask` to a tensor of your own (values 0 or 1/(1 − p), the input's shape).
///
/// ```swift
/// let model = Sequential<Float> { Linear(784, 800); ReLU(); Dropout(0.5); Linear(800, 10) }
/// model.isTraining = false          // evaluation: dropout passes inputs through
/// ```
public final class Dropout<Scalar: TensorScalar>: ShapePreserving {
    /// Probability of dropping each input, in [0, 1].
    public let p: Double
    public var isTraining = true
    /// The generator the masks are drawn from.
    public var rng: Random
    /// When set, used as the mask in training mode instead of drawing a new one.
    public var fixedMask: Tensor<Scalar>?
    /// The mask of the last training-mode `fprop` (0 or 1/(1 − p) per input).
    public private(set) var mask: Tensor<Scalar>?

    /// Dropout with probability `p`, its generator seeded from `rng`.
    public init(_ p: Double = 0.5, using rng: inout Random) {
        require((0...1).contains(p), "Dropout: p must be in [0, 1], got \(p)")
        self.p = p
        self.rng = Random(seed: rng.next())
    }

    /// Dropout with probability `p`, its generator seeded from `Random.global`.
    public convenience init(_ p: Double = 0.5) { self.init(p, using: &Random.global) }

    public var description: String { "Dropout(\(p))" }

    /// Keeps the last mask for every later training-mode `fprop` (for gradient checks).
    public func freezeMask() {
        require(mask != nil, "Dropout.freezeMask: no mask yet; run fprop in training mode first")
        fixedMask = mask
    }

    /// Training mode with something to drop.
    private var isActive: Bool { isTraining && p > 0 }

    // input [any] → output = input ⊙ mask (training), input (evaluation)
    public func fprop(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
        guard isActive else { return input }
        if let fixedMask {
            require(
                fixedMask.shape == input.shape,
                "Dropout: fixedMask has shape \(fixedMask.shape) but the input has shape \(input.shape)")
            mask = fixedMask
        } else {
            let keep = 1 - p, scale = keep > 0 ? Scalar(1 / keep) : 0
            mask = Tensor<Scalar>(shape: input.shape) { Scalar.bernoulliMask($0, input.count, keep: keep, scale: scale, using: &rng) }
        }
        return input * mask!
    }

    // gradOutput → gradInput = gradOutput ⊙ mask of the last fprop (training), gradOutput (evaluation)
    public func bprop(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) -> Tensor<Scalar> {
        checkGradOutput(input, gradOutput)
        guard isActive else { return gradOutput }
        guard let mask, mask.shape == input.shape else {
            requireFailure(
                "Dropout.bprop: needs the mask of an fprop in training mode on an input of shape \(input.shape) (last mask: \(mask.map { "\($0.shape)" } ?? "none"))"
            )
        }
        return gradOutput * mask
    }
}
