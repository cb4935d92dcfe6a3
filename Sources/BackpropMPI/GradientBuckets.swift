// Gradient buckets: the parameters cut into a few large contiguous buffers, in the order
// backward finishes them, each summed over the ranks with one MPI_Iallreduce.
import Backprop
import CMPI

/// Where each parameter's gradient goes: the buckets (lists of parameter indices) and the
/// point of the backward pass after which each bucket is complete.
///
/// Parameters are ordered by the (top-level) layer whose backward completes their gradient,
/// last layer first, as backward runs; a parameter shared by several layers is complete
/// after the first of them (the last backward reaches). Within a layer the order is
/// reversed too (`bias` before `weight`, as PyTorch's DDP does). Consecutive parameters
/// fill a bucket up to `bucketBytes`; a parameter larger than that is a bucket alone.
public struct BucketLayout: Equatable, Sendable {
    /// Parameter indices (into the model's distinct parameters) of each bucket, in reduction order.
    public let buckets: [[Int]]
    /// For each bucket, the layer index after whose backward it is complete (the smallest
    /// `completedAfter` of its parameters); nil when the layer order is unknown (reduce
    /// after the whole backward).
    public let readyAfterLayer: [Int?]

    /// The layout for parameters of `byteCounts` bytes, where parameter i is complete
    /// after the backward of layer `completedAfter[i]` (nil: only after the whole pass, in
    /// reverse parameter order).
    public init(byteCounts: [Int], completedAfter: [Int]?, bucketBytes: Int) {
        require(bucketBytes > 0, "BucketLayout: bucketBytes must be positive, got \(bucketBytes)")
        require(
            completedAfter == nil || completedAfter!.count == byteCounts.count,
            "BucketLayout: \(byteCounts.count) parameters but \(completedAfter!.count) completion layers")
        let order: [Int]
        if let completedAfter {
            // last layer first; within a layer, last parameter first
            order = byteCounts.indices.sorted {
                completedAfter[$0] != completedAfter[$1] ? completedAfter[$0] > completedAfter[$1] : $0 > $1
            }
        } else {
            order = Array(byteCounts.indices.reversed())
        }
        var buckets: [[Int]] = []
        var current: [Int] = []
        var bytes = 0
        for i in order {
            if !current.isEmpty && bytes + byteCounts[i] > bucketBytes {
                buckets.append(current)
                (current, bytes) = ([], 0)
            }
            current.append(i)
            bytes += byteCounts[i]
        }
        if !current.isEmpty { buckets.append(current) }
        self.buckets = buckets
        readyAfterLayer = buckets.map { bucket in completedAfter.map { after in bucket.map { after[$0] }.min()! } }
    }
}

/// One bucket's buffer and its allreduce in flight.
final class GradientBucket<Scalar: TensorScalar> {
    let parameters: [Parameter<Scalar>]
    let count: Int
    let buffer: UnsafeMutablePointer<Scalar>
    var request: MPI_Request?
    var inFlight = false

    /// A bucket of `parameters`; its buffer is allocated only when there is someone to send
    /// it to (`communicates`: more than one rank).
    init(_ parameters: [Parameter<Scalar>], communicates: Bool) {
        self.parameters = parameters
        count = parameters.reduce(0) { $0 + $1.value.count }
        buffer = .allocate(capacity: communicates ? max(count, 1) : 1)
    }

    deinit { buffer.deallocate() }

    /// Copies every gradient, times `weight`, into the buffer.
    func pack(weight: Scalar) {
        var offset = 0
        for p in parameters {
            let n = p.value.count
            p.grad.withUnsafePointer { Scalar.copy($0, buffer + offset, n) }
            if weight != 1 { Scalar.scal(n, weight, buffer + offset) }
            offset += n
        }
    }

    /// Multiplies every gradient by `weight`, in place (a world of one: nothing to send).
    func scale(by weight: Scalar) {
        for p in parameters {
            let n = p.value.count
            p.grad.withUnsafeMutablePointer { Scalar.scal(n, weight, $0) }
        }
    }

    /// Copies the buffer back into the gradients.
    func unpack() {
        var offset = 0
        for p in parameters {
            let n = p.value.count
            let source = buffer + offset
            p.grad.withUnsafeMutablePointer { Scalar.copy(UnsafePointer(source), $0, n) }
            offset += n
        }
    }
}
