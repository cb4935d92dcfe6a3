// backprop-mpi-tests: the checks of BackpropMPI that need several ranks, and its timings.
//
//   mpirun -np 2 --oversubscribe --allow-run-as-root .build/debug/backprop-mpi-tests
//   mpirun -np 2 ... .build/release/backprop-mpi-tests --bench mlp --threads 1 --steps 60 [--bucket-mb 1] [--after-backward]
//   .build/release/backprop-mpi-tests --bench mlp --threads 2          # one rank, two threads
//   mpirun -np 2 ... .build/release/backprop-mpi-tests --allreduce 7454760 --steps 30
//   mpirun -np 2 ... .build/release/backprop-mpi-tests --drift 469     # mnist-mlp's epoch: rounding drift
//
// Every check runs on every rank; the ranks then agree on the outcome (an allgather), rank 0
// prints one line per check, and every rank exits 1 if any rank failed one. Run alone (one
// rank) the checks hold trivially and still run, which keeps the program honest in `swift
// build`; .ci/run runs it on two ranks.

import Backprop
import BackpropMPI
import ExampleSupport
import Foundation

let world: MPIWorld
do { world = try MPIWorld.start() } catch { print("backprop-mpi-tests: \(error)"); exit(1) }
let arguments = Array(CommandLine.arguments.dropFirst())

/// The value after `--name` in the arguments, if any.
func argument(_ name: String) -> String? {
    guard let i = arguments.firstIndex(of: "--" + name), i + 1 < arguments.count else { return nil }
    return arguments[i + 1]
}

/// Prints on rank 0 only.
func say(_ text: String) { if world.isRoot { print(text); fflush(nil) } }

nonisolated(unsafe) var failed = 0
/// Records a check: passes only if it passed on every rank; rank 0 prints it, with the
/// ranks where it failed and their details.
func check(_ passed: Bool, _ what: String, _ detail: @autoclosure () -> String = "") {
    let reports = world.allGather(passed ? "" : "rank \(world.rank): \(detail())")
    let failures = reports.filter { !$0.isEmpty }
    if failures.isEmpty {
        say("ok    \(what)")
    } else {
        failed += 1
        say("FAIL  \(what)\n      " + failures.joined(separator: "\n      "))
    }
}

// Timings first: --bench and --allreduce run only them (the functions are further down).
if let workload = argument("bench") {
    let threads = Int(argument("threads") ?? "1")!, steps = Int(argument("steps") ?? "40")!
    let bucketBytes = Int(Double(argument("bucket-mb") ?? "25")! * 1_048_576)
    Threads.count = threads
    Random.global = Random(seed: 1)
    let (model, batch, shape): (Sequential<Float>, Int, [Int]) =
        workload == "mlp"
        ? (perceptron([784, 1024, 1024, 10]), 128, [784])
        : (lectureConvnet(), 64, [1, 32, 32])
    let overlap = !arguments.contains("--after-backward")
    let result = try bench(model, batch: batch, inputShape: shape, steps: steps, bucketBytes: bucketBytes, overlap: overlap)
    say(
        String(
            format:
                "%@: %d rank(s) × %d thread(s), global batch %d: %.2f ms per step (median of %d; %.0f samples/s; fastest %.2f ms), MPI %.2f ms per step (rank 0), %d bucket(s) %@",
            workload, world.size, threads, batch, result.step * 1e3, steps, Double(batch) / result.step, result.fastest * 1e3,
            result.communication * 1e3,
            try DataParallel(model, world: world, bucketBytes: bucketBytes).layout.buckets.count,
            overlap ? "started during backward" : "reduced after backward"))
    exit(0)
}

if let bytesText = argument("allreduce") {
    let count = Int(bytesText)! / 4, steps = Int(argument("steps") ?? "30")!
    var buffer = Tensor<Float>(repeating: 1, shape: [count])
    var times: [Double] = []
    for i in 0..<(steps + 3) {
        world.barrier()
        let clock = DispatchTime.now().uptimeNanoseconds
        world.sum(&buffer) // MPI_Allreduce, in place
        if i >= 3 { times.append(Double(DispatchTime.now().uptimeNanoseconds - clock) * 1e-9) }
    }
    times.sort()
    say(
        String(
            format: "allreduce of %.2f MB of Float on %d ranks: median %.2f ms, min %.2f ms, max %.2f ms (%d runs)",
            Double(count * 4) / 1e6, world.size, times[times.count / 2] * 1e3, times[0] * 1e3, times.last! * 1e3, times.count))
    exit(0)
}

if let stepsText = argument("drift") {
    // mnist-mlp's training on MNIST ($MNIST_DIR): the ranks, the same steps emulated in one
    // process (must agree bit for bit), and one process on whole batches (rounding only).
    let steps = Int(stepsText)!
    Threads.count = 1
    let mnist: MNIST<Float> = loadMNIST(locateMNIST(nil))
    Random.global = Random(seed: 1)
    let model: Sequential<Float> = perceptron([784, 1024, 1024, 10])
    Random.global = Random(seed: 1)
    let emulated: Sequential<Float> = perceptron([784, 1024, 1024, 10])
    Random.global = Random(seed: 1)
    let whole: Sequential<Float> = perceptron([784, 1024, 1024, 10])
    let parallel = try DataParallel(model, world: world)
    let (sgd, sgdEmulated, sgdWhole) = (
        SGD(model.parameters, learningRate: 0.05, momentum: 0.9),
        SGD(emulated.parameters, learningRate: 0.05, momentum: 0.9),
        SGD(whole.parameters, learningRate: 0.05, momentum: 0.9)
    )
    let loss = CrossEntropyLoss<Float>()
    var shuffle = Random(seed: 2), step = 0
    func difference(_ a: Sequential<Float>, _ b: Sequential<Float>) -> Double {
        zip(a.parameters, b.parameters).map { relativeError($0.0.value, $0.1.value) }.max()!
    }
    epochs: while true {
        for (images, labels) in mnist.train.batches(size: 128, using: &shuffle) {
            let part = parallel.shard(images, labels)
            let scores = parallel.forward(part.images)
            _ = loss.forward(scores, part.labels)
            model.zeroGrad()
            parallel.backward(part.images, loss.backward(scores, part.labels), weight: part.weight)
            sgd.step()
            emulatedStep(emulated, sgdEmulated, images, labels, ranks: world.size)
            emulatedStep(whole, sgdWhole, images, labels, ranks: 1)
            step += 1
            if step % 25 == 0 || step == steps {
                say(
                    String(
                        format: "step %4d: ranks vs emulated %.1e, ranks vs whole batches %.1e, emulated vs whole %.1e",
                        step, difference(model, emulated), difference(model, whole), difference(emulated, whole)))
            }
            if step == steps { break epochs }
        }
    }
    exit(0)
}

// MARK: - 1. One step on 2 ranks = one step of one process on the whole batch

/// One SGD step on a global batch of `batch` rows: on every rank the data-parallel model
/// (each rank starting from different weights, made equal by the broadcast) and, on the
/// side, a single-process reference on the whole batch. Both gradients and weights after
/// the step must agree to `tolerance` (normwise, relative).
func checkOneStep<S: TensorScalar>(_: S.Type, batch: Int, bucketBytes: Int, overlapped: Bool, tolerance: Double) {
    let model: Sequential<S> = smallNetwork(seed: 7 &+ UInt64(world.rank)) // different on each rank before the broadcast
    let reference: Sequential<S> = smallNetwork(seed: 7) // rank 0's weights, everywhere
    let parallel: DataParallel<Sequential<S>>
    do { parallel = try DataParallel(model, world: world, bucketBytes: bucketBytes) } catch {
        check(false, "DataParallel init", "\(error)"); return
    }
    let data: LabeledImages<S> = syntheticData(batch, seed: 11)
    let loss = CrossEntropyLoss<S>()
    let sgd = SGD(model.parameters, learningRate: 0.1, momentum: 0.9)
    let referenceSGD = SGD(reference.parameters, learningRate: 0.1, momentum: 0.9)

    let part = parallel.shard(data.images, data.labels)
    model.zeroGrad()
    if overlapped {
        let scores = parallel.forward(part.images)
        _ = loss.forward(scores, part.labels)
        parallel.backward(part.images, loss.backward(scores, part.labels), weight: part.weight)
    } else {
        let scores = model.fprop(part.images)
        _ = loss.forward(scores, part.labels)
        model.grad(part.images, loss.backward(scores, part.labels))
        parallel.averageGradients(weight: part.weight)
    }
    let scores = reference.fprop(data.images)
    _ = loss.forward(scores, data.labels)
    reference.zeroGrad()
    reference.grad(data.images, loss.backward(scores, data.labels))

    let pairs = zip(model.namedParameters, reference.namedParameters)
    let gradientError = pairs.map { relativeError($0.0.parameter.grad, $0.1.parameter.grad) }.max()!
    sgd.step()
    referenceSGD.step()
    let weightError = pairs.map { relativeError($0.0.parameter.value, $0.1.parameter.value) }.max()!
    let how =
        overlapped
        ? "forward/backward, \(parallel.layout.buckets.count) bucket(s) started during backward"
        : "model.grad + averageGradients, \(parallel.layout.buckets.count) bucket(s)"
    check(
        gradientError <= tolerance && weightError <= tolerance,
        "one step, global batch \(batch) on \(world.size) ranks = one process (\(S.self), \(how)): gradients \(String(format: "%.1e", gradientError)), weights \(String(format: "%.1e", weightError)) ≤ \(tolerance)",
        "gradient error \(gradientError), weight error \(weightError), tolerance \(tolerance)")
}

checkOneStep(Float.self, batch: 8, bucketBytes: 25 << 20, overlapped: true, tolerance: 1e-5)
checkOneStep(Float.self, batch: 7, bucketBytes: 300, overlapped: true, tolerance: 1e-5)
checkOneStep(Double.self, batch: 8, bucketBytes: 25 << 20, overlapped: true, tolerance: 1e-12)
checkOneStep(Double.self, batch: 7, bucketBytes: 300, overlapped: true, tolerance: 1e-12)
checkOneStep(Double.self, batch: 9, bucketBytes: 600, overlapped: false, tolerance: 1e-12)

// MARK: - 1b. k steps on 2 ranks = the same steps emulated in one process, bit for bit

do {
    let model: Sequential<Float> = smallNetwork(seed: 5 &+ UInt64(world.rank))
    let emulated: Sequential<Float> = smallNetwork(seed: 5)
    let parallel = try DataParallel(model, world: world, bucketBytes: 300)
    let sgd = SGD(model.parameters, learningRate: 0.1, momentum: 0.9),
        sgdEmulated = SGD(emulated.parameters, learningRate: 0.1, momentum: 0.9)
    let data: LabeledImages<Float> = syntheticData(61, seed: 12)
    let loss = CrossEntropyLoss<Float>()
    var shuffle = Random(seed: 13), steps = 0
    for _ in 1...3 {
        for (images, labels) in data.batches(size: 9, using: &shuffle) {
            let part = parallel.shard(images, labels)
            let scores = parallel.forward(part.images)
            _ = loss.forward(scores, part.labels)
            model.zeroGrad()
            parallel.backward(part.images, loss.backward(scores, part.labels), weight: part.weight)
            sgd.step()
            emulatedStep(emulated, sgdEmulated, images, labels, ranks: world.size)
            steps += 1
        }
    }
    let same = zip(model.parameters, emulated.parameters).allSatisfy { $0.0.value.scalars == $0.1.value.scalars }
    check(
        same || world.size > 2,
        "\(steps) steps on \(world.size) ranks = the same steps emulated in one process (parts, weights, sum), bit for bit (Float)",
        "largest difference \(zip(model.parameters, emulated.parameters).map { relativeError($0.0.value, $0.1.value) }.max()!)")
} catch {
    check(false, "k steps against the emulation", "\(error)")
}

// MARK: - 2. Identical weights on all ranks after k steps

/// `epochs` epochs of SGD with momentum on a network with batch norm, the buffers averaged
/// after each epoch; returns the model and its DataParallel.
func train(
    epochs: ClosedRange<Int>, model: Sequential<Double>, parallel: DataParallel<Sequential<Double>>, optimizer: SGD<Double>,
    shuffle: inout Random, data: LabeledImages<Double>, batch: Int, checkpointAfter: Int? = nil, path: String? = nil
) throws {
    let loss = CrossEntropyLoss<Double>()
    for epoch in epochs {
        for (images, labels) in data.batches(size: batch, using: &shuffle) {
            let part = parallel.shard(images, labels)
            let scores = parallel.forward(part.images)
            _ = parallel.average(loss.forward(scores, part.labels), weight: part.weight)
            model.zeroGrad()
            parallel.backward(part.images, loss.backward(scores, part.labels), weight: part.weight)
            optimizer.step()
        }
        parallel.synchronizeBuffers()
        if epoch == checkpointAfter, let path {
            try parallel.saveCheckpoint(
                optimizer: optimizer, state: TrainingState(epoch: epoch, step: 0, generators: ["shuffle": shuffle]), to: path)
        }
    }
}

do {
    let model: Sequential<Double> = smallNetwork(seed: 3 &+ UInt64(world.rank), batchNorm: true)
    let parallel = try DataParallel(model, world: world, bucketBytes: 1000)
    let optimizer = SGD(model.parameters, learningRate: 0.05, momentum: 0.9)
    var shuffle = Random(seed: 21)
    try train(
        epochs: 1...3, model: model, parallel: parallel, optimizer: optimizer, shuffle: &shuffle,
        data: syntheticData(52, seed: 5), batch: 8)
    var identical = true, detail = ""
    do { try parallel.checkReplicas() } catch { identical = false; detail = "\(error)" }
    check(
        identical,
        "weights and batch-norm buffers bit-identical on all ranks after 3 epochs (21 steps of 8, the last of 4, \(parallel.layout.buckets.count) buckets)",
        detail)

    // the check can fail: change one weight on the last rank
    if world.rank == world.size - 1 { model.parameters[0].value.withUnsafeMutablePointer { $0[0] += 1 } }
    var caught = world.size == 1
    do { try parallel.checkReplicas() } catch let error as DataParallelError { caught = error.kind == .replicasDiffer }
    check(caught, "checkReplicas reports a weight changed on rank \(world.size - 1)", "no error")
} catch {
    check(false, "training on all ranks", "\(error)")
}

// MARK: - 3. Sharding: every example exactly once per epoch

do {
    let count = 1003, batch = 64
    // the images are the example indices, so a shard's images say which examples it holds
    let data = LabeledImages(
        images: Tensor<Double>(shape: [count, 1], scalars: (0..<count).map(Double.init)),
        labels: Array(repeating: 0, count: count), classCount: 1)
    let parallel = try DataParallel(Sequential<Double> { Linear<Double>(1, 1) }, world: world)
    var shuffle = Random(seed: 8)
    var good = true, detail = ""
    for epoch in 1...2 {
        var mine: [Int] = []
        for (images, labels) in data.batches(size: batch, using: &shuffle) {
            let part = parallel.shard(images, labels)
            let indices = part.images.scalars.map { Int($0) }
            let all = world.allGather(indices.map(String.init).joined(separator: ","))
                .flatMap { $0.split(separator: ",").map { Int($0)! } }
            if all != images.scalars.map({ Int($0) }) { good = false; detail = "epoch \(epoch): the parts of a batch are not the batch" }
            mine += indices
        }
        let everyone = world.allGather(mine.map(String.init).joined(separator: ",")).flatMap { $0.split(separator: ",").map { Int($0)! } }
        if everyone.sorted() != Array(0..<count) {
            good = false; detail = "epoch \(epoch): \(everyone.count) examples seen, \(Set(everyone).count) distinct, of \(count)"
        }
        if world.size > 1 && mine.count >= count { good = false; detail = "rank \(world.rank) saw the whole epoch" }
    }
    check(
        good, "sharding: each of \(count) examples exactly once per epoch over the \(world.size) ranks (batch \(batch), 2 epochs)", detail)
} catch {
    check(false, "sharding", "\(error)")
}

// MARK: - 4. Resume from a checkpoint = the uninterrupted run, bit for bit

do {
    // rank 0 makes the directory, every rank learns its name
    var directory = ""
    if world.isRoot {
        var template = Array((NSTemporaryDirectory() + "backprop-mpi-tests-XXXXXX").utf8CString)
        directory = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    }
    directory = world.allGather(directory)[0]
    let path = directory + "/epoch-002.safetensors"
    let data: LabeledImages<Double> = syntheticData(60, seed: 9)

    let model: Sequential<Double> = smallNetwork(seed: 4, batchNorm: true)
    let parallel = try DataParallel(model, world: world, bucketBytes: 800)
    let optimizer = SGD(model.parameters, learningRate: 0.05, momentum: 0.9)
    var shuffle = Random(seed: 31)
    try train(
        epochs: 1...4, model: model, parallel: parallel, optimizer: optimizer, shuffle: &shuffle, data: data, batch: 10,
        checkpointAfter: 2, path: path)

    let resumed: Sequential<Double> = smallNetwork(seed: 40 &+ UInt64(world.rank), batchNorm: true) // other weights
    let resumedParallel = try DataParallel(resumed, world: world, bucketBytes: 800)
    let resumedOptimizer = SGD(resumed.parameters, learningRate: 0.05, momentum: 0.9)
    let state = try Checkpoint.restore(model: resumed, optimizer: resumedOptimizer, from: path)
    try resumedParallel.checkReplicas()
    var resumedShuffle = state.generators["shuffle"]!
    try train(
        epochs: (state.epoch + 1)...4, model: resumed, parallel: resumedParallel, optimizer: resumedOptimizer,
        shuffle: &resumedShuffle, data: data, batch: 10)
    let uninterruptedState: [(name: String, value: Tensor<Double>)] = model.stateDict
    let resumedState: [(name: String, value: Tensor<Double>)] = resumed.stateDict
    let same =
        uninterruptedState.count == resumedState.count
        && zip(uninterruptedState, resumedState).allSatisfy { (a, b) in a.name == b.name && a.value.scalars == b.value.scalars }
    let written = world.allGather(FileManager.default.fileExists(atPath: path) ? "1" : "0")
    check(
        same && written.allSatisfy { $0 == "1" },
        "resume after epoch 2 of 4 (checkpoint written by rank 0, restored by all) = the uninterrupted \(world.size)-rank run, bit for bit",
        same ? "checkpoint missing" : "weights differ")
    world.barrier()
    if world.isRoot { try? FileManager.default.removeItem(atPath: directory) }
} catch {
    check(false, "checkpoint and resume", "\(error)")
}

// MARK: - 5. Ranks that built different models: an error on every rank

do {
    // the last rank builds a wider hidden layer (and, in Float, a different scalar type is not possible here)
    let model: Sequential<Float> = smallNetwork(seed: 1, hidden: world.rank == world.size - 1 && world.size > 1 ? 17 : 16)
    var message = ""
    do { _ = try DataParallel(model, world: world) } catch let error as DataParallelError where error.kind == .modelMismatch {
        message = error.message
    }
    let expected =
        world.size == 1
        || (message.contains("0.weight") && message.contains("[16, 12]") && message.contains("[17, 12]")
            && message.contains("rank \(world.size - 1)"))
    check(
        expected,
        "a wider layer on rank \(world.size - 1): every rank throws modelMismatch naming 0.weight, 0.bias, 2.weight and both shapes",
        message.isEmpty ? "no error" : message)
    if world.isRoot && !message.isEmpty { print("      (the message: " + message.replacingOccurrences(of: "\n", with: "\n       ") + ")") }
}

// MARK: - Timings (--bench mlp|convnet, --allreduce BYTES)

/// Seconds per step of `model` on global batches of `batch` (the benchmark's workloads),
/// the median and the fastest of `steps` after 5 warm-up steps (each the slowest rank's);
/// and rank 0's mean time in MPI (starting, progressing and waiting for the allreduces).
func bench(_ model: Sequential<Float>, batch: Int, inputShape: [Int], steps: Int, bucketBytes: Int, overlap: Bool) throws -> (
    step: Double, fastest: Double, communication: Double
) {
    let parallel = try DataParallel(model, world: world, bucketBytes: bucketBytes)
    let loss = CrossEntropyLoss<Float>()
    let sgd = SGD(model.parameters, learningRate: 0.01, momentum: 0.9)
    var rng = Random(seed: 2)
    let images = Tensor<Float>.uniform([batch] + inputShape, in: 0...1, using: &rng)
    let labels = (0..<batch).map { _ in Int(rng.next() % 10) }
    var times: [Double] = [], communication = 0.0
    for i in 0..<(steps + 5) {
        world.barrier()
        let clock = DispatchTime.now().uptimeNanoseconds
        let part = parallel.shard(images, labels)
        model.zeroGrad()
        if overlap {
            let scores = parallel.forward(part.images)
            _ = loss.forward(scores, part.labels)
            parallel.backward(part.images, loss.backward(scores, part.labels), weight: part.weight)
        } else { // --after-backward
            let scores = model.fprop(part.images)
            _ = loss.forward(scores, part.labels)
            model.grad(part.images, loss.backward(scores, part.labels))
            parallel.averageGradients(weight: part.weight)
        }
        sgd.step()
        let seconds = world.sum([Double(DispatchTime.now().uptimeNanoseconds - clock) * 1e-9]).first! // (not timed)
        if i >= 5 { times.append(seconds); communication += parallel.lastCommunicationSeconds }
    }
    // the slowest rank's step: gather each step's time on every rank and take the max
    let slowest = world.allGather(times.map { String($0) }.joined(separator: ",")).map { $0.split(separator: ",").map { Double($0)! } }
    let perStep = (0..<times.count).map { i in slowest.map { $0[i] }.max()! }.sorted()
    return (perStep[perStep.count / 2], perStep[0], communication / Double(steps))
}

say(failed == 0 ? "all checks passed on \(world.size) rank(s)" : "\(failed) check(s) failed")
exit(failed == 0 ? 0 : 1)
