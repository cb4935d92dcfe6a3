// What every module family shares: the Layer protocol (fprop, bprop, grad), Parameter,
// ShapeError, ShapePreserving and Container.

/// A module of a network, in the sense of Torch7's `nn`: it knows three things.
///
/// - **fprop**: its output, given its input (and its parameters);
/// - **bprop**: the gradient of the loss with respect to its *input*, given the input and
///   the gradient with respect to its output;
/// - **grad**: the gradient with respect to its *parameters*, *accumulated* into each
///   `Parameter.grad`, given the same two tensors.
///
/// Any such modules compose (`Sequential`), and the gradient of the whole follows.
/// A layer may cache what its last `fprop` computed (a sigmoid's output, a pool's argmax,
/// a dropout mask), so `bprop` and `grad` are valid only for the input of the most recent
/// `fprop`, as in Torch7. Layers are classes for that reason, and so that a `Parameter`
/// can be shared between them.
public protocol Layer<Scalar>: AnyObject, CustomStringConvertible {
    associatedtype Scalar: TensorScalar

    /// Output for `input`.
    func fprop(_ input: Tensor<Scalar>) -> Tensor<Scalar>
    /// ∂loss/∂input, given ∂loss/∂output (`gradOutput`, the shape of the output).
    func bprop(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) -> Tensor<Scalar>
    /// Adds ∂loss/∂parameter to every parameter's `grad`. Parameter-free layers do nothing.
    func grad(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>)
    /// `grad` then `bprop`, returning ∂loss/∂input (containers do it in one pass).
    func backward(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) -> Tensor<Scalar>

    /// The trainable parameters, named as in a PyTorch `state_dict` (`weight`, `0.bias`, …).
    var namedParameters: [(name: String, parameter: Parameter<Scalar>)] { get }
    /// The non-trainable state (a batch norm's running statistics), named as in a PyTorch
    /// `state_dict` (`running_mean`, `1.num_batches_tracked`, …). Saved and loaded with the
    /// parameters, never touched by optimizers. Default: none.
    var namedBuffers: [(name: String, buffer: Buffer<Scalar>)] { get }
    /// Training mode (dropout and noise active) or evaluation mode.
    var isTraining: Bool { get set }
    /// The output shape for an input shape, or a `ShapeError` saying what the layer expects.
    /// There is no default: a layer that keeps its input's shape says so by conforming to
    /// `ShapePreserving`, every other layer computes it.
    func outputShape(for inputShape: [Int]) throws -> [Int]
}

/// A layer whose output has its input's shape (activations, dropout, noise, penalties).
/// Conforming is the explicit statement that gives the `outputShape(for:)` identity.
public protocol ShapePreserving: Layer {}

extension ShapePreserving {
    public func outputShape(for inputShape: [Int]) throws -> [Int] { inputShape }
}

/// A layer made of other layers (`Sequential`, `TiedAutoencoder`, and any container of
/// yours). From `children` alone it gets, with nothing to forget:
///
/// - `isTraining`: setting it sets every child's (stored in `mode`);
/// - `namedParameters`: each child's, prefixed with the child's name (`0.weight`), as in
///   PyTorch's `state_dict`;
/// - `namedBuffers`: each child's, with the same prefixes (`0.running_mean`);
/// - a Torch7-style `description` listing the children.
///
/// A container still computes its own `outputShape(for:)` (a chain, a sum and a
/// concatenation differ) and its three verbs, and gives `backward` in one pass over its
/// children (an outer container calls `backward`, not `grad` then `bprop`, so no child's
/// backward work runs twice).
public protocol Container<Scalar>: Layer {
    /// The layers inside, each with the name its parameters are prefixed with.
    var children: [(name: String, layer: any Layer<Scalar>)] { get }
    /// Where the container keeps its own mode (declare `public let mode = TrainingMode()`).
    var mode: TrainingMode { get }
}

/// The training flag of a container: a class, so that a container's `isTraining` setter
/// needs no stored property of its own.
public final class TrainingMode {
    /// True in training mode (the default, as in PyTorch and Torch7).
    public var isTraining: Bool
    public init(isTraining: Bool = true) { self.isTraining = isTraining }
}

extension Container {
    public var isTraining: Bool {
        get { mode.isTraining }
        set {
            mode.isTraining = newValue
            for child in children { child.layer.isTraining = newValue }
        }
    }

    public var namedParameters: [(name: String, parameter: Parameter<Scalar>)] {
        children.flatMap { child in
            child.layer.namedParameters.map { ("\(child.name).\($0.name)", $0.parameter) }
        }
    }

    public var namedBuffers: [(name: String, buffer: Buffer<Scalar>)] {
        children.flatMap { child in
            child.layer.namedBuffers.map { ("\(child.name).\($0.name)", $0.buffer) }
        }
    }

    /// The type, then each child on its own line.
    public var description: String {
        let lines = children.map { "  (\($0.name)): " + "\($0.layer)".replacingOccurrences(of: "\n", with: "\n  ") }
        return ([typeName + " {"] + lines + ["}"]).joined(separator: "\n")
    }
}

/// A shape that a layer cannot take, with a message naming the layer and both shapes.
public struct ShapeError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension Layer {
    public func grad(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) {}
    public var namedParameters: [(name: String, parameter: Parameter<Scalar>)] { [] }
    public var namedBuffers: [(name: String, buffer: Buffer<Scalar>)] { [] }
    /// Layers without a mode ignore it (containers forward it, see `Container`).
    public var isTraining: Bool {
        get { false }
        set {}
    }

    public func backward(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) -> Tensor<Scalar> {
        if hasTrainableParameters { grad(input, gradOutput) } // (nothing to add for a frozen layer)
        return bprop(input, gradOutput)
    }

    /// Same as `fprop`, the Torch7 name.
    public func forward(_ input: Tensor<Scalar>) -> Tensor<Scalar> { fprop(input) }

    /// The distinct parameters (a shared parameter appears once).
    public var parameters: [Parameter<Scalar>] { distinctNamedParameters.map(\.parameter) }

    /// `namedParameters` with each shared parameter once, under its first name.
    public var distinctNamedParameters: [(name: String, parameter: Parameter<Scalar>)] {
        distinct(namedParameters) { $0.parameter }
    }

    /// Number of trainable scalars (shared parameters counted once).
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.value.count } }

    /// Sets every parameter's gradient to zero.
    public func zeroGrad() { for p in parameters { p.zeroGrad() } }

    /// Freezes every parameter of the layer (`Parameter.isFrozen`; PyTorch:
    /// `for p in model.parameters(): p.requires_grad_(False)`): `grad` and `backward` no
    /// longer change their gradients and optimizers leave them as they are, while `bprop`
    /// and `backward` still return the input gradient. A GAN's generator step can run
    /// `backward` through a frozen discriminator; `bprop` alone does the same.
    public func freeze() { for p in parameters { p.isFrozen = true } }

    /// Unfreezes every parameter of the layer (`requires_grad_(True)`).
    public func unfreeze() { for p in parameters { p.isFrozen = false } }

    /// True if some parameter of the layer is not frozen, so that `grad` has work to do
    /// (false for a layer without parameters). Containers skip `grad` for the others.
    public var hasTrainableParameters: Bool { namedParameters.contains { !$0.parameter.isFrozen } }

    /// The type's name without its generic argument: `Linear`, `ReLU`.
    public var typeName: String {
        let full = String(describing: type(of: self))
        return full.firstIndex(of: "<").map { String(full[..<$0]) } ?? full
    }
    public var description: String { typeName }

    /// `outputShape(for:)` as a checked requirement, for a layer's own `fprop`.
    public func checkedOutputShape(_ inputShape: [Int]) -> [Int] {
        do { return try outputShape(for: inputShape) } catch { requireFailure("\(error)") }
    }

    /// Precondition that `gradOutput` has the shape `fprop` gives for `input`.
    public func checkGradOutput(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) {
        let expected = checkedOutputShape(input.shape)
        require(
            gradOutput.shape == expected,
            "\(self): gradOutput has shape \(gradOutput.shape) but the output for input \(input.shape) has shape \(expected)")
    }
}

/// `items` without repeats, in first-seen order, where two items repeat when `object`
/// gives the same instance: a shared parameter is one object, so identity (not value)
/// decides. `Layer.parameters`, the optimizers and the gradient checker all use it.
func distinct<T>(_ items: [T], by object: (T) -> AnyObject) -> [T] {
    var seen = Set<ObjectIdentifier>()
    return items.filter { seen.insert(ObjectIdentifier(object($0))).inserted }
}

/// `parameters` without repeats (see `distinct(_:by:)`).
func distinct<Scalar>(_ parameters: [Parameter<Scalar>]) -> [Parameter<Scalar>] { distinct(parameters) { $0 } }

/// A non-trainable tensor of a layer's state: a batch norm's `running_mean`,
/// `running_var` and `num_batches_tracked` (PyTorch's "buffers"). The layer updates it
/// itself (in `fprop`, in training mode); optimizers never see it (it is not a
/// `Parameter`); `save`/`load`, `stateDict` and checkpoints carry it by name. A class,
/// shared by reference like `Parameter`.
public final class Buffer<Scalar: TensorScalar> {
    /// The current value.
    public var value: Tensor<Scalar>
    /// True for a count (`num_batches_tracked`): saved as a safetensors `I64` tensor, as
    /// PyTorch stores it (a Float buffer holds whole numbers exactly up to 2^24).
    public let isCount: Bool

    /// A buffer holding `value`; `isCount` makes it an integer count stored as I64.
    public init(_ value: Tensor<Scalar>, isCount: Bool = false) {
        self.value = value
        self.isCount = isCount
    }
}

/// A trainable tensor and the gradient accumulated for it.
///
/// Sharing a parameter is sharing this object: two layers that hold the same `Parameter`
/// both add into its `grad`, and an optimizer updates it once per step. That is the
/// weight-sharing rule (and tied autoencoder weights).
///
/// A parameter can be *frozen* (`isFrozen`, PyTorch's `requires_grad = False`): then
/// `grad` and `backward` add nothing to its gradient and optimizers leave its value as it
/// is, while `bprop` still passes gradients through it to the layer's input.
public final class Parameter<Scalar: TensorScalar> {
    /// The current value.
    public var value: Tensor<Scalar>
    /// ∂loss/∂value, accumulated by `grad` until `zeroGrad()`.
    ///
    /// While the parameter is frozen, changes made to `grad` in place (by a layer's `grad`,
    /// or by `p.grad += …`) are discarded, so that every layer, yours included, leaves a
    /// frozen gradient as it was; assigning `p.grad = …` and `zeroGrad()` still work.
    public var grad: Tensor<Scalar> {
        get { clearPendingZero(); return storedGrad }
        _modify {
            clearPendingZero()
            if isFrozen {
                var discarded = storedGrad // copied on first write, then dropped
                yield &discarded
            } else {
                yield &storedGrad
            }
        }
        set { storedGrad = newValue; zeroPending = false }
    }
    /// True while the parameter is frozen: PyTorch's `requires_grad = False` (`isFrozen =
    /// true` is `p.requires_grad_(False)`). `grad` and `backward` then accumulate nothing
    /// into `grad`, containers skip the gradient work of wholly frozen children, and
    /// optimizers skip the parameter (no update, no weight decay, not in the clipping norm).
    /// `bprop`, the input gradient, is unchanged. See `Layer.freeze()`.
    public var isFrozen = false
    /// Whether weight decay (L2/L1 in the optimizer) applies: true for weights, false for biases.
    public var decays: Bool

    private var storedGrad: Tensor<Scalar>
    /// Set by `zeroGrad()`: the gradient is zero but `storedGrad` still holds old numbers.
    /// The first GEMM that accumulates into it then overwrites it (β = 0) instead of
    /// adding (β = 1), and a whole pass of zero-filling per step is saved.
    private var zeroPending = false

    public init(_ value: Tensor<Scalar>, decays: Bool = true) {
        self.value = value
        self.storedGrad = .zeros(value.shape)
        self.decays = decays
    }

    /// Sets `grad` to zero (lazily: the memory is cleared, or overwritten, on first use).
    public func zeroGrad() { zeroPending = true }

    /// Hands `body` the gradient and the factor β for what it holds: 0 right after
    /// `zeroGrad()` (the memory holds stale numbers; `body` must overwrite every element,
    /// as a GEMM with β = 0 does), else 1 (`body` must add).
    /// A frozen parameter hands `body` a scratch tensor (β = 0) that is then dropped.
    public func accumulateGrad<R>(_ body: (inout Tensor<Scalar>, Scalar) -> R) -> R {
        if isFrozen {
            var discarded = Tensor<Scalar>.zeros(storedGrad.shape)
            return body(&discarded, 0)
        }
        let beta: Scalar = zeroPending ? 0 : 1
        zeroPending = false
        return body(&storedGrad, beta)
    }

    private func clearPendingZero() {
        if zeroPending {
            storedGrad.zero()
            zeroPending = false
        }
    }
}
