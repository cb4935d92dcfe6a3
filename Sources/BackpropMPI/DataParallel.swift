// DataParallel: one model replicated on every rank, each rank training on its part of every
// global batch, the gradients averaged over the ranks in a few large buckets as backward
// finishes them; plus sharding, buffer synchronization, checkpoints and the model check.
import Backprop
import CMPI
import Foundation

/// Why ranks cannot train together.
public struct DataParallelError: Error, CustomStringConvertible, Equatable {
    /// What went wrong.
    public enum Kind: Equatable, Sendable {
        /// The ranks built different models (names, shapes or scalar type).
        case modelMismatch
        /// The ranks hold different weights where they must be identical.
        case replicasDiffer
        /// Rank 0 could not write a checkpoint (every rank reports it).
        case checkpointNotWritten
    }
    /// The kind, to match on.
    public let kind: Kind
    /// The explanation, naming the ranks and the tensors.
    public let message: String
    /// An error of `kind`.
    public init(_ kind: Kind, _ message: String) { (self.kind, self.message) = (kind, message) }
    public var description: String { message }
}

/// One rank's part of a global batch: contiguous rows of it, and the part's share of the
/// batch (its weight in the average of the gradients and of the loss).
public struct Shard<Scalar: TensorScalar> {
    /// This rank's examples (`[b, …]`, b about B / N).
    public let images: Tensor<Scalar>
    /// Their labels.
    public let labels: [Int]
    /// The rows of the global batch they are.
    public let rows: Range<Int>
    /// `rows.count / B`: with a mean loss, the gradient times this, summed over ranks, is
    /// the gradient of the global batch's mean loss.
    public let weight: Double
}

/// Data-parallel training over MPI, as PyTorch's `DistributedDataParallel` does it: every
/// rank holds the same model, trains on its own part of each global batch, and before the
/// optimizer's step the gradients are averaged over all ranks, so every rank takes the
/// same step, the one a single process would take on the whole global batch.
///
/// ```
/// let world = try MPIWorld.start()
/// let parallel = try DataParallel(model, world: world)   // same model on every rank? then rank 0's weights
/// for (images, labels) in data.batches(size: 256, using: &shuffle) {   // same seed on every rank
///     let part = parallel.shard(images, labels)          // this rank's 256 / N rows
///     let scores = parallel.forward(part.images)
///     let value = parallel.average(Double(loss.forward(scores, part.labels)), weight: part.weight)
///     model.zeroGrad()
///     parallel.backward(part.images, loss.backward(scores, part.labels), weight: part.weight)
///     optimizer.step()                                   // identical on every rank
/// }
/// ```
///
/// - **Start**: `init` compares the model's signature (scalar type, names and shapes of
///   parameters and buffers) across ranks and throws `DataParallelError.modelMismatch` on
///   every rank, listing the differences, if any rank disagrees; then it broadcasts rank 0's
///   parameters and buffers (`namedBuffers`, e.g. batch-norm running statistics).
/// - **Gradients**: the distinct parameters are cut into buckets of about `bucketBytes`
///   (25 MB by default, as DDP), last layer first. For a `Sequential` model trained with
///   `forward` and `backward`, each bucket's `MPI_Iallreduce` starts as soon as backward
///   has passed its first layer, and MPI is given a chance to progress (`MPI_Testall`)
///   after every later layer, so communication overlaps the rest of backward. For any other
///   model, call `model.grad` then `averageGradients()`: the buckets are reduced after the
///   whole backward, in the same reverse order.
/// - **Buffers**: buffers are not touched at each step (each rank's batch norm keeps
///   statistics of its own shard); call `synchronizeBuffers()` after each epoch (before
///   evaluating and checkpointing) to average them (counts are broadcast from rank 0).
/// - **Checkpoints**: `saveCheckpoint` writes on rank 0 only; every rank restores the same
///   file with `Checkpoint.restore`, then `checkReplicas()` confirms they agree.
public final class DataParallel<Model: Layer> {
    /// The model's scalar type.
    public typealias Scalar = Model.Scalar

    /// The replicated model.
    public let model: Model
    /// The ranks.
    public let world: MPIWorld
    /// The bucket size asked for, in bytes.
    public let bucketBytes: Int
    /// Which parameters each bucket holds, in reduction order.
    public let layout: BucketLayout
    /// True if `forward`/`backward` start the allreduces during backward (a `Sequential`
    /// model); false if the buckets are reduced after the whole backward.
    public let overlapsBackward: Bool
    /// Seconds of the last `backward` (or `averageGradients`) spent in MPI: starting the
    /// allreduces and waiting for them after the backward pass.
    public private(set) var lastCommunicationSeconds = 0.0

    /// This process's rank.
    public var rank: Int { world.rank }
    /// The number of ranks.
    public var worldSize: Int { world.size }
    /// True on rank 0 (the one that writes files).
    public var isRoot: Bool { world.isRoot }

    private let parameters: [(name: String, parameter: Parameter<Scalar>)]
    private let buckets: [GradientBucket<Scalar>]
    private let sequential: Sequential<Scalar>?
    private var inputs: [Tensor<Scalar>] = []

    /// Prepares `model` for training on every rank of `world`: checks that all ranks built
    /// the same model (else throws `DataParallelError.modelMismatch`, on every rank, naming
    /// the differing tensors) and gives every rank rank 0's parameters and buffers.
    /// `bucketBytes`: the size of the gradient buckets (one allreduce each). The parameters
    /// and the layer order are read here: build the whole model first.
    public init(_ model: Model, world: MPIWorld, bucketBytes: Int = 25 << 20) throws {
        require(bucketBytes > 0, "DataParallel: bucketBytes must be positive, got \(bucketBytes)")
        (self.model, self.world, self.bucketBytes) = (model, world, bucketBytes)
        parameters = model.distinctNamedParameters
        sequential = model as? Sequential<Scalar>

        try DataParallel.checkSignatures(ModelSignature(model), world: world)

        // Which top-level layer completes each parameter (the first one holding it).
        var completedAfter: [Int]? = nil
        if let sequential {
            var firstLayer: [ObjectIdentifier: Int] = [:]
            for (i, layer) in sequential.layers.enumerated() {
                for p in layer.parameters where firstLayer[ObjectIdentifier(p)] == nil { firstLayer[ObjectIdentifier(p)] = i }
            }
            completedAfter = parameters.map { firstLayer[ObjectIdentifier($0.parameter)]! }
        }
        overlapsBackward = sequential != nil
        layout = BucketLayout(
            byteCounts: parameters.map { $0.parameter.value.count * MemoryLayout<Scalar>.stride },
            completedAfter: completedAfter, bucketBytes: bucketBytes)
        let parameterObjects = parameters.map(\.parameter)
        buckets = layout.buckets.map { GradientBucket($0.map { parameterObjects[$0] }, communicates: world.size > 1) }
        broadcastState()
    }

    /// Throws `modelMismatch` on every rank unless every rank's signature hashes the same;
    /// the message lists, for each rank that differs from rank 0, what differs.
    static func checkSignatures(_ signature: ModelSignature, world: MPIWorld) throws {
        let hashes = world.allGather(signature.hash)
        guard Set(hashes).count > 1 else { return }
        let signatures = world.allGather(signature.text).map { ModelSignature(text: $0) }
        var lines = [
            "DataParallel: the \(world.size) ranks built different models (the names and shapes of the parameters and buffers must be the same on every rank); the differences from rank 0:"
        ]
        for r in 1..<world.size where hashes[r] != hashes[0] {
            guard let root = signatures[0], let other = signatures[r] else { lines.append("  rank \(r): unreadable signature"); continue }
            lines.append("  rank \(r):")
            lines += root.differences(from: other, mine: "rank 0", theirs: "rank \(r)").map { "    " + $0 }
        }
        throw DataParallelError(.modelMismatch, lines.joined(separator: "\n"))
    }

    /// Every parameter and buffer replaced by rank 0's (what `init` does; call it again after
    /// changing the weights on rank 0 alone).
    public func broadcastState() {
        guard world.size > 1 else { return }
        for (_, p) in parameters { world.broadcast(&p.value) }
        for (_, b) in model.namedBuffers { world.broadcast(&b.value) }
    }

    // MARK: - Sharding

    /// The rows of a global batch of `count` examples that `rank` of `size` takes: the
    /// `rank`-th of `size` contiguous parts whose lengths differ by at most one. Over the
    /// ranks the parts cover `0..<count` exactly once.
    public static func shardRows(count: Int, rank: Int, size: Int) -> Range<Int> {
        require(size > 0 && (0..<size).contains(rank), "DataParallel.shardRows: rank \(rank) of \(size)")
        return (rank * count / size)..<((rank + 1) * count / size)
    }

    /// This rank's part of the global batch `(images, labels)`. Every rank must pass the same
    /// batch: draw the epoch's order from the same seed on every rank (`batches(size:using:)`
    /// with the same `Random`), so the parts of all ranks make up each global batch and
    /// the epoch. A part is empty when the batch has fewer rows than there are ranks.
    public func shard(_ images: Tensor<Scalar>, _ labels: [Int]) -> Shard<Scalar> {
        require(images.shape.first == labels.count, "DataParallel.shard: \(images.shape.first ?? 0) images but \(labels.count) labels")
        let rows = DataParallel.shardRows(count: labels.count, rank: rank, size: worldSize)
        let weight = labels.isEmpty ? 0 : Double(rows.count) / Double(labels.count)
        if rows.count == labels.count { return Shard(images: images, labels: labels, rows: rows, weight: weight) }
        return Shard(images: images[rows: rows], labels: Array(labels[rows]), rows: rows, weight: weight)
    }

    /// The weighted sum over the ranks of `value` (with each `Shard.weight`, the global
    /// batch's mean loss from each part's mean loss). One small allreduce.
    public func average(_ value: Double, weight: Double) -> Double {
        worldSize == 1 ? value * weight : world.sum(value * weight)
    }

    // MARK: - Forward and backward

    /// The model's output for `input`. For a `Sequential` model it runs the layers one by
    /// one and keeps their inputs, so that `backward` can start each bucket's allreduce as
    /// soon as backward has completed it; for another model it is `model.fprop`.
    public func forward(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
        guard let sequential else { return model.fprop(input) }
        do { _ = try sequential.outputShape(for: input.shape) } catch { fatalError("\(error)") }
        inputs.removeAll(keepingCapacity: true)
        var x = input
        for layer in sequential.layers {
            inputs.append(x)
            x = layer.fprop(x)
        }
        return x
    }

    /// Accumulates every parameter's gradient for `gradOutput` (as `model.grad` does) and
    /// averages the gradients over the ranks: each is multiplied by `weight` (this rank's
    /// `Shard.weight`; default 1 / worldSize) and summed over the ranks. `input` is the one
    /// given to the last `forward`. For a `Sequential` model the buckets' allreduces start
    /// during backward; the gradients are final when this returns.
    public func backward(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>, weight: Double? = nil) {
        guard let sequential else {
            model.grad(input, gradOutput)
            averageGradients(weight: weight)
            return
        }
        let layers = sequential.layers
        require(
            inputs.count == layers.count && inputs.first?.shape == input.shape,
            "DataParallel.backward needs the input of the most recent DataParallel.forward (got \(input.shape), forward saw \(inputs.first?.shape.description ?? "nothing"))"
        )
        let w = Scalar(weight ?? 1 / Double(worldSize))
        var communication = 0.0
        // the same pass as Sequential.grad: no bprop where no module before has parameters
        let firstTrainable = layers.firstIndex { !$0.namedParameters.isEmpty } ?? layers.count
        var next = 0 // the next bucket to start
        var g = gradOutput
        for i in layers.indices.reversed() {
            if i > firstTrainable {
                g = layers[i].backward(inputs[i], g)
            } else {
                layers[i].grad(inputs[i], g)
            }
            let clock = DispatchTime.now().uptimeNanoseconds
            while next < buckets.count, let after = layout.readyAfterLayer[next], after >= i {
                start(buckets[next], weight: w)
                next += 1
            }
            progress()
            communication += Double(DispatchTime.now().uptimeNanoseconds - clock) * 1e-9
            if i <= firstTrainable { break }
        }
        let clock = DispatchTime.now().uptimeNanoseconds
        while next < buckets.count { start(buckets[next], weight: w); next += 1 } // (parameters no layer holds)
        finish()
        lastCommunicationSeconds = communication + Double(DispatchTime.now().uptimeNanoseconds - clock) * 1e-9
    }

    /// Averages the gradients over the ranks (each times `weight`, default 1 / worldSize,
    /// then summed), bucket by bucket in reverse layer order, after a backward pass the
    /// caller ran (`model.grad`).
    public func averageGradients(weight: Double? = nil) {
        let clock = DispatchTime.now().uptimeNanoseconds
        let w = Scalar(weight ?? 1 / Double(worldSize))
        for bucket in buckets { start(bucket, weight: w) }
        finish()
        lastCommunicationSeconds = Double(DispatchTime.now().uptimeNanoseconds - clock) * 1e-9
    }

    private func start(_ bucket: GradientBucket<Scalar>, weight: Scalar) {
        guard worldSize > 1 else { // alone: only the weight, in place
            if weight != 1 { bucket.scale(by: weight) }
            return
        }
        bucket.pack(weight: weight)
        bucket.request = world.startAllreduceSum(bucket.buffer, count: bucket.count)
        bucket.inFlight = true
    }

    /// Lets MPI move the allreduces in flight along.
    private func progress() {
        var requests = buckets.filter(\.inFlight).map(\.request)
        if !requests.isEmpty { _ = world.test(&requests) }
        var k = 0
        for bucket in buckets where bucket.inFlight { bucket.request = requests[k]; k += 1 }
    }

    /// Waits for every allreduce, in the order they started, and copies the sums back.
    private func finish() {
        for bucket in buckets {
            guard bucket.inFlight else { continue }
            world.wait(&bucket.request)
            bucket.inFlight = false
            bucket.unpack()
        }
    }

    // MARK: - Buffers, replicas, checkpoints

    /// How `synchronizeBuffers` makes the ranks' buffers equal.
    public enum BufferSync: Sendable {
        /// The mean over the ranks (batch-norm statistics of the whole epoch's data); counts
        /// (`Buffer.isCount`) are rank 0's.
        case average
        /// Rank 0's values (PyTorch DDP's choice, there at every forward).
        case broadcast
    }

    /// Makes every rank's buffers (`namedBuffers`) equal: call it after each epoch, before
    /// evaluating or writing a checkpoint. Without it each rank's batch norm keeps the
    /// running statistics of its own shards.
    public func synchronizeBuffers(_ how: BufferSync = .average) {
        guard worldSize > 1 else { return }
        for (_, buffer) in model.namedBuffers {
            if how == .broadcast || buffer.isCount {
                world.broadcast(&buffer.value)
            } else {
                let count = buffer.value.count
                buffer.value.withUnsafeMutablePointer { p in
                    world.allreduceSum(p, count: count)
                    Scalar.scal(count, 1 / Scalar(worldSize), p)
                }
            }
        }
    }

    /// FNV-1a (64 bits) of the bytes of every parameter and buffer.
    public func stateHash() -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        func add(_ tensor: Tensor<Scalar>) {
            tensor.withUnsafePointer { p in
                let bytes = UnsafeRawBufferPointer(start: p, count: tensor.count * MemoryLayout<Scalar>.stride)
                for byte in bytes { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
            }
        }
        for (_, p) in parameters { add(p.value) }
        for (_, b) in model.namedBuffers { add(b.value) }
        return h
    }

    /// Throws `replicasDiffer` on every rank unless all ranks hold bit-identical parameters
    /// and buffers (compares a hash; names the ranks that differ from rank 0).
    public func checkReplicas() throws {
        let hashes = world.allGather(stateHash())
        let differing = hashes.indices.filter { hashes[$0] != hashes[0] }
        guard differing.isEmpty else {
            throw DataParallelError(
                .replicasDiffer,
                "DataParallel: the weights of rank\(differing.count == 1 ? "" : "s") \(differing.map(String.init).joined(separator: ", ")) differ from rank 0's (restore the same checkpoint on every rank, with the same options)"
            )
        }
    }

    /// Writes a training checkpoint on rank 0 only (`Checkpoint.save`), then waits for it on
    /// every rank; if rank 0 cannot write it, every rank throws `checkpointNotWritten` with
    /// rank 0's reason. Every rank resumes from the file with `Checkpoint.restore`.
    public func saveCheckpoint<O: CheckpointableOptimizer>(optimizer: O, state: TrainingState, to path: String) throws
    where O.Scalar == Scalar {
        var problem = ""
        if isRoot {
            do { try Checkpoint.save(model: model, optimizer: optimizer, state: state, to: path) } catch { problem = "\(error)" }
        }
        if worldSize > 1 { problem = world.allGather(problem)[0] }
        if !problem.isEmpty {
            throw DataParallelError(.checkpointNotWritten, "DataParallel: rank 0 could not write the checkpoint \(path): \(problem)")
        }
    }
}
