// The state an optimizer carries from step to step (momentum buffers, moments, sums, the
// step count, reduce-on-plateau's counters), exposed so that training checkpoints can
// save and restore it.

/// An optimizer whose state can be saved in a checkpoint and restored, so that training
/// resumes exactly where it stopped.
///
/// Buffers use PyTorch's slot names (`momentum_buffer`, `exp_avg`, `exp_avg_sq`,
/// `max_exp_avg_sq`, `square_avg`, `grad_avg`, `sum`) and hold one tensor per parameter,
/// in `parameters` order. The step count and the plateau's state are saved for every
/// optimizer (`checkpointScalars`). A new optimizer conforms by listing its buffers (and
/// any scalars of its own) and accepting them back.
public protocol CheckpointableOptimizer: Optimizer {
    /// Stored in checkpoints and checked on restore ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad").
    static var checkpointName: String { get }
    /// The per-parameter buffers: slot name → one tensor per parameter.
    var stateBuffers: [(slot: String, tensors: [Tensor<Scalar>])] { get }
    /// Scalar state of the optimizer's own, as strings (none of the built-in optimizers
    /// has any besides the step count and the plateau, which `checkpointScalars` adds).
    var stateScalars: [String: String] { get }
    /// Replaces the state. `buffers` has every slot of `stateBuffers`, each tensor already
    /// checked to have its parameter's shape; `scalars` holds every `optimizer.*` metadata
    /// entry (keys without the prefix); throws if a scalar of its own is missing or malformed.
    func restoreState(buffers: [String: [Tensor<Scalar>]], scalars: [String: String]) throws
}

extension CheckpointableOptimizer {
    public var stateScalars: [String: String] { [:] }

    /// Everything scalar a checkpoint saves: `stateScalars`, the step count ("step") and
    /// the plateau's state ("plateau.best", …).
    public var checkpointScalars: [String: String] {
        var scalars = stateScalars
        scalars["step"] = String(stepCount)
        if let plateau { scalars.merge(plateau.stateScalars) { $1 } }
        return scalars
    }
}

/// An optimizer state that cannot be restored (missing or malformed entries).
public struct OptimizerStateError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension SGD: CheckpointableOptimizer {
    public static var checkpointName: String { "SGD" }
    public var stateBuffers: [(slot: String, tensors: [Tensor<Scalar>])] { [("momentum_buffer", velocities)] }
    public func restoreState(buffers: [String: [Tensor<Scalar>]], scalars: [String: String]) throws {
        velocities = buffers["momentum_buffer"]!
    }
}

extension Adam: CheckpointableOptimizer {
    public static var checkpointName: String { "Adam" }
    public var stateBuffers: [(slot: String, tensors: [Tensor<Scalar>])] {
        [("exp_avg", firstMoments), ("exp_avg_sq", secondMoments)] + (amsgrad ? [("max_exp_avg_sq", maxSecondMoments)] : [])
    }
    public func restoreState(buffers: [String: [Tensor<Scalar>]], scalars: [String: String]) throws {
        firstMoments = buffers["exp_avg"]!
        secondMoments = buffers["exp_avg_sq"]!
        if amsgrad { maxSecondMoments = buffers["max_exp_avg_sq"]! }
    }
}

extension AdamW: CheckpointableOptimizer {
    public static var checkpointName: String { "AdamW" }
    public var stateBuffers: [(slot: String, tensors: [Tensor<Scalar>])] {
        [("exp_avg", firstMoments), ("exp_avg_sq", secondMoments)] + (amsgrad ? [("max_exp_avg_sq", maxSecondMoments)] : [])
    }
    public func restoreState(buffers: [String: [Tensor<Scalar>]], scalars: [String: String]) throws {
        firstMoments = buffers["exp_avg"]!
        secondMoments = buffers["exp_avg_sq"]!
        if amsgrad { maxSecondMoments = buffers["max_exp_avg_sq"]! }
    }
}

extension RMSprop: CheckpointableOptimizer {
    public static var checkpointName: String { "RMSprop" }
    public var stateBuffers: [(slot: String, tensors: [Tensor<Scalar>])] {
        [("square_avg", squareAverages)] + (momentum > 0 ? [("momentum_buffer", momentumBuffers)] : [])
            + (centered ? [("grad_avg", gradientAverages)] : [])
    }
    public func restoreState(buffers: [String: [Tensor<Scalar>]], scalars: [String: String]) throws {
        squareAverages = buffers["square_avg"]!
        if momentum > 0 { momentumBuffers = buffers["momentum_buffer"]! }
        if centered { gradientAverages = buffers["grad_avg"]! }
    }
}

extension Adagrad: CheckpointableOptimizer {
    public static var checkpointName: String { "Adagrad" }
    public var stateBuffers: [(slot: String, tensors: [Tensor<Scalar>])] { [("sum", sums)] }
    public func restoreState(buffers: [String: [Tensor<Scalar>]], scalars: [String: String]) throws {
        sums = buffers["sum"]!
    }
}
