// The state an optimizer carries from step to step (momentum buffers, Adam's moments and
// step count), exposed so that training checkpoints can save and restore it.

/// An optimizer whose state can be saved in a checkpoint and restored, so that training
/// resumes exactly where it stopped.
///
/// Buffers use PyTorch's slot names (`momentum_buffer`, `exp_avg`, `exp_avg_sq`) and
/// hold one tensor per parameter, in `parameters` order. A new optimizer conforms by
/// listing its buffers and scalars and accepting them back.
public protocol CheckpointableOptimizer: Optimizer {
    /// Stored in checkpoints and checked on restore ("SGD", "Adam").
    static var checkpointName: String { get }
    /// The per-parameter buffers: slot name → one tensor per parameter.
    var stateBuffers: [(slot: String, tensors: [Tensor<Scalar>])] { get }
    /// Scalar state, as strings (Adam's step count).
    var stateScalars: [String: String] { get }
    /// Replaces the state. `buffers` has every slot of `stateBuffers`, each tensor already
    /// checked to have its parameter's shape; throws if a scalar is missing or malformed.
    func restoreState(buffers: [String: [Tensor<Scalar>]], scalars: [String: String]) throws
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
    public var stateScalars: [String: String] { [:] }
    public func restoreState(buffers: [String: [Tensor<Scalar>]], scalars: [String: String]) throws {
        velocities = buffers["momentum_buffer"]!
    }
}

extension Adam: CheckpointableOptimizer {
    public static var checkpointName: String { "Adam" }
    public var stateBuffers: [(slot: String, tensors: [Tensor<Scalar>])] {
        [("exp_avg", firstMoments), ("exp_avg_sq", secondMoments)]
    }
    public var stateScalars: [String: String] { ["step": String(stepCount)] }
    public func restoreState(buffers: [String: [Tensor<Scalar>]], scalars: [String: String]) throws {
        guard let text = scalars["step"], let steps = Int(text), steps >= 0 else {
            throw OptimizerStateError("Adam: the checkpoint's step count is \(scalars["step"].map { "'\($0)'" } ?? "missing")")
        }
        firstMoments = buffers["exp_avg"]!
        secondMoments = buffers["exp_avg_sq"]!
        stepCount = steps
    }
}
