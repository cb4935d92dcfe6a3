// DataParallel in one process (a world of one, no mpirun): sharding arithmetic, and that
// its backward, averaging, checkpoint and checks are exactly the single-process ones.
// The two-rank checks are the executable backprop-mpi-tests, run by .ci/run under mpirun.
import Backprop
import BackpropMPI
import Foundation
import XCTest

final class DataParallelTests: XCTestCase {
    func testShardsCoverEveryRowExactlyOnceAndBalance() {
        for size in 1...5 {
            for count in 0...23 {
                let parts = (0..<size).map { DataParallel<Sequential<Float>>.shardRows(count: count, rank: $0, size: size) }
                XCTAssertEqual(parts.flatMap { Array($0) }, Array(0..<count), "\(count) rows on \(size) ranks: \(parts)")
                let lengths = parts.map(\.count)
                XCTAssertLessThanOrEqual(lengths.max()! - lengths.min()!, 1, "\(count) rows on \(size) ranks: \(parts)")
            }
        }
    }

    func model(seed: UInt64) -> Sequential<Double> {
        Random.global = Random(seed: seed)
        return Sequential<Double> {
            Linear<Double>(6, 8); Tanh<Double>(); BatchNorm1d<Double>(8); Linear<Double>(8, 3)
        }
    }

    func testOneRankBackwardIsModelGrad() throws {
        let world = try MPIWorld.start()
        XCTAssertEqual(world.size, 1, "run the multi-rank checks with backprop-mpi-tests under mpirun, not swift test")
        XCTAssertGreaterThanOrEqual(world.threadLevel, 1) // MPI_THREAD_FUNNELED or more
        let a = model(seed: 3), b = model(seed: 3)
        let parallel = try DataParallel(a, world: world, bucketBytes: 100) // several buckets
        XCTAssertTrue(parallel.overlapsBackward)
        XCTAssertGreaterThan(parallel.layout.buckets.count, 2)
        var rng = Random(seed: 5)
        let x = Tensor<Double>.normal([10, 6], using: &rng)
        let labels = (0..<10).map { $0 % 3 }
        let loss = CrossEntropyLoss<Double>()

        let part = parallel.shard(x, labels)
        XCTAssertEqual(part.rows, 0..<10)
        XCTAssertEqual(part.weight, 1)
        let scores = parallel.forward(part.images)
        XCTAssertEqual(parallel.average(loss.forward(scores, part.labels), weight: part.weight), loss.forward(b.fprop(x), labels))
        a.zeroGrad()
        parallel.backward(part.images, loss.backward(scores, part.labels), weight: part.weight)
        b.zeroGrad()
        b.grad(x, loss.backward(b.fprop(x), labels))
        for (p, q) in zip(a.namedParameters, b.namedParameters) {
            XCTAssertEqual(p.parameter.grad.scalars, q.parameter.grad.scalars, p.name)
        }
        // averageGradients with the default weight, 1 / worldSize, leaves them as they are
        parallel.averageGradients()
        XCTAssertEqual(a.parameters[0].grad.scalars, b.parameters[0].grad.scalars)
        XCTAssertNoThrow(try parallel.checkReplicas())
    }

    func testStateHashSeesAWeightChange() throws {
        let parallel = try DataParallel(model(seed: 1), world: MPIWorld.start())
        XCTAssertEqual(parallel.rank, 0)
        XCTAssertTrue(parallel.isRoot)
        let hash = parallel.stateHash()
        parallel.model.parameters[0].value.withUnsafeMutablePointer { $0[0] += 1 }
        XCTAssertNotEqual(parallel.stateHash(), hash)
    }

    func testRootWritesTheCheckpointEveryRankRestores() throws {
        let world = try MPIWorld.start()
        let a = model(seed: 4)
        let parallel = try DataParallel(a, world: world)
        let sgd = SGD(a.parameters, learningRate: 0.1, momentum: 0.9)
        let path = NSTemporaryDirectory() + "data-parallel-\(getpid()).safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try parallel.saveCheckpoint(
            optimizer: sgd, state: TrainingState(epoch: 2, step: 7, generators: ["shuffle": Random(seed: 9)]), to: path)
        let b = model(seed: 5)
        let state = try Checkpoint.restore(model: b, optimizer: SGD(b.parameters, learningRate: 0.1, momentum: 0.9), from: path)
        XCTAssertEqual(state.epoch, 2)
        XCTAssertEqual(b.parameters[0].value.scalars, a.parameters[0].value.scalars)

        XCTAssertThrowsError(try parallel.saveCheckpoint(optimizer: sgd, state: TrainingState(), to: "/nonexistent-dir/x.safetensors")) {
            error in
            XCTAssertEqual((error as? DataParallelError)?.kind, .checkpointNotWritten)
            XCTAssertTrue("\(error)".contains("/nonexistent-dir/x.safetensors"), "\(error)")
        }
    }
}
