// --distributed: an example's training step made data-parallel over MPI (BackpropMPI), and
// the switch that keeps every rank but rank 0 from writing the example's files.
import Backprop
import BackpropMPI
import Foundation

/// Whether this process writes the example's files (checkpoints, `--save`,
/// `--predictions`, figures). In a `--distributed` run only rank 0 does.
public enum OutputFiles {
    /// True unless this process is a rank other than 0 of a `--distributed` run.
    nonisolated(unsafe) public static var written = true
}

/// The `--distributed` option: train on every rank started by `mpirun -np N`, each rank on
/// its part of every global batch of `--batch` examples, the gradients averaged over the
/// ranks (`DataParallel`). Without the flag every call is the single-process step, so the
/// example runs exactly as before.
///
/// ```swift
/// let distributed = DistributedOption(options)            // before options.finish()
/// ...build the model and its optimizer...
/// let parallel = distributed.start(model, batchSize: batchSize, examples: train.count)
/// training.run(on: train, batchSize: batchSize) { images, labels in
///     let (images, labels, weight) = parallel.shard(images, labels)   // this rank's part
///     let scores = parallel.forward(images)
///     let value = parallel.average(Double(loss.forward(scores, labels)), weight)
///     training.check(loss: value)
///     model.zeroGrad()
///     parallel.backward(images, loss.backward(scores, labels), weight)  // grad, then averaged
///     optimizer.step()
///     return value
/// } endOfEpoch: { ... }
/// ```
///
/// Every rank reads the data, draws the same batch order (the same seed) and evaluates
/// the whole test set; only rank 0 prints and writes files; `--resume` is read by every rank.
public final class DistributedOption {
    /// True with `--distributed`.
    public let enabled: Bool

    /// Declares `--distributed` on `options`.
    public init(_ options: Options) {
        enabled = options.flag(
            "distributed", "train data-parallel on the ranks of `mpirun -np N` (global batch --batch, split over the ranks)")
    }

    /// Starts MPI and checks that every rank built the same model (else every rank exits
    /// with status 1, saying what differs), gives all ranks rank 0's weights, and silences
    /// standard output and the files on the other ranks. Exits with status 2 if a global
    /// batch of `batchSize` (or the epoch's last, of `examples % batchSize`) has fewer
    /// examples than there are ranks. Without `--distributed`: a single-process step.
    public func start<Model: Layer>(_ model: Model, batchSize: Int, examples: Int) -> DistributedStep<Model> {
        guard enabled else { return DistributedStep(model, nil) }
        let world: MPIWorld
        do { world = try MPIWorld.start() } catch { fail("\(programName): --distributed: \(error)") }
        if !world.isRoot {
            OutputFiles.written = false
            fflush(nil)
            let null = open("/dev/null", O_WRONLY)
            if null >= 0 { dup2(null, STDOUT_FILENO); close(null) }
        }
        let last = examples % batchSize
        if batchSize < world.size || (last > 0 && last < world.size) {
            FileHandle.standardError.write(
                "\(programName): --distributed on \(world.size) ranks: --batch \(batchSize) gives a batch of \(batchSize < world.size ? batchSize : last) examples, fewer than the ranks (every rank needs at least one example of each batch)\n"
                    .data(using: .utf8)!)
            world.exitTogether(2)
        }
        let parallel: DataParallel<Model>
        do { parallel = try DataParallel(model, world: world) } catch {
            FileHandle.standardError.write("\(programName): rank \(world.rank): \(error)\n".data(using: .utf8)!)
            world.exitTogether(1)
        }
        let local = Int(ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_LOCAL_SIZE"] ?? "1") ?? 1
        let cores = ProcessInfo.processInfo.activeProcessorCount
        print(
            "distributed: \(world.size) ranks, global batch \(batchSize) (about \(batchSize / world.size) per rank), "
                + "\(parallel.layout.buckets.count) gradient bucket(s) of up to \(parallel.bucketBytes >> 20) MB, \(Threads.count) thread(s) per rank"
        )
        if local * Threads.count > cores {
            print(
                "note: \(local) ranks × \(Threads.count) threads on \(cores) cores; --threads \(max(1, cores / local)) avoids oversubscribing them"
            )
        }
        return DistributedStep(model, parallel, examples: examples)
    }
}

/// One training step's data-parallel parts (see `DistributedOption`): without
/// `--distributed`, the single-process step itself.
public final class DistributedStep<Model: Layer> {
    private let model: Model
    /// The data-parallel state, nil without `--distributed`.
    public let parallel: DataParallel<Model>?
    private let examples: Int
    private var seen = 0

    init(_ model: Model, _ parallel: DataParallel<Model>?, examples: Int = 0) {
        (self.model, self.parallel, self.examples) = (model, parallel, examples)
    }

    /// This rank's rows of the global batch and their weight (its share of the batch); the
    /// whole batch, weight 1, without `--distributed`.
    public func shard(_ images: Tensor<Model.Scalar>, _ labels: [Int]) -> (Tensor<Model.Scalar>, [Int], Double) {
        guard let parallel else { return (images, labels, 1) }
        let part = parallel.shard(images, labels)
        return (part.images, part.labels, part.weight)
    }

    /// The model's output (through `DataParallel.forward`, so that backward can overlap
    /// the gradients' allreduces).
    public func forward(_ input: Tensor<Model.Scalar>) -> Tensor<Model.Scalar> {
        parallel?.forward(input) ?? model.fprop(input)
    }

    /// The global batch's mean loss from this rank's (every rank gets the same number, so a
    /// divergence stops every rank at the same step).
    public func average(_ value: Double, _ weight: Double) -> Double {
        parallel?.average(value, weight: weight) ?? value
    }

    /// `model.grad`, then the gradients averaged over the ranks (in buckets, during the
    /// backward pass). The buffers (batch-norm statistics) are averaged over the ranks
    /// after each epoch's last batch, before evaluation and checkpoint.
    public func backward(_ input: Tensor<Model.Scalar>, _ gradOutput: Tensor<Model.Scalar>, _ weight: Double) {
        guard let parallel else { model.grad(input, gradOutput); return }
        parallel.backward(input, gradOutput, weight: weight)
        // the global batch is this rank's rows / its weight: count the epoch without a message
        seen += Int((Double(input.shape[0]) / weight).rounded())
        if seen >= examples {
            seen = 0
            parallel.synchronizeBuffers()
        }
    }
}
