// backprop-bench: training throughput of the canonical workloads (shared/bench/WORKLOADS.md),
// in the PyTorch peer's output format, plus the distance to what the BLAS allows.
//
//   swift run -c release backprop-bench [mlp convnet lstm autoencoder resnet charlstm gan] --threads 1 --seconds 5
//   swift run -c release backprop-bench resnet --steps 3 --no-gemm      (a short run, for profilers)
//   swift run -c release backprop-bench mlp convnet --inference --threads 1
//   swift run -c release backprop-bench mlp --gemm-rate --threads 1
//
// For each workload: build the model, keep mini-batches of MNIST in memory (charlstm:
// Tiny Shakespeare, --text), run 5 warm-up steps, then time whole steps (fprop, loss, grad,
// optimizer update) for --seconds (or --steps of them). `cpu_ms_per_step` is the process's
// CPU time per step (all threads). Then the same step's GEMM calls (recorded by GemmTrace:
// same shapes, same order) are timed alone; `step_over_gemm` is the full step's time over
// the GEMM-only time. `peak_rss_mb` is the process's peak resident memory so far
// (getrusage's ru_maxrss in KiB / 1024, as the peer computes it).
//
// --inference: the model in evaluation mode, fprop only, on MNIST test images, timed as
// the peer times it: 20 warm-up calls on one image, then one image at a time for half of
// --seconds (latency_batch1_us), then one warm-up call and batches of 1,000 images for the
// other half (samples_per_s_batch1000).
//
// --gemm-rate: GFLOP/s of Float.gemm alone (2 · m · n · k per call, best of 3 timings of
// about --seconds / 10 each): a 2048³ NN product, then each distinct GEMM shape of one
// training step of each workload named (default: mlp), on random data.

import Backprop
import ExampleSupport
import Foundation

let options = Options(
    "backprop-bench", "training samples/s of the canonical workloads (or inference latency and throughput)",
    booleanFlags: ["no-gemm", "inference", "gemm-rate"])
let requested = options.arguments("workload", "workloads to run: \(Workloads.names.joined(separator: ", ")) (default: all)")
let threads = options.threads(1)
let seconds = options.double("seconds", 5, "timed seconds per workload", range: 0.001...86_400)
let fixedSteps = options.int(
    "steps", 0, "time exactly this many steps instead of --seconds (0: use --seconds); for short profiling runs", range: 0...1_000_000)
let dataOption = options.mnistData("MNIST directory (else $MNIST_DIR, else ./Data/mnist, else ../shared/data/mnist)")
let textOption = options.inputFile(
    "text", "charlstm's text (else $TEXT_FILE, else ../shared/data/tinyshakespeare/input.txt, else ./Data/tinyshakespeare/input.txt)")
let noGemm = options.flag("no-gemm", "skip the GEMM-only timing")
let inference = options.flag(
    "inference",
    "time the model in evaluation mode instead: latency of one test image, samples/s in batches of 1,000 (\(Workloads.inferenceNames.joined(separator: ", ")))"
)
for name in requested where !Workloads.names.contains(name) {
    options.require(false, "unknown workload '\(name)' (known: \(Workloads.names.joined(separator: ", ")))")
}
if inference {
    for name in requested where Workloads.names.contains(name) && !Workloads.inferenceNames.contains(name) {
        options.require(
            false, "--inference times the image networks only (\(Workloads.inferenceNames.joined(separator: ", "))), not '\(name)'")
    }
    options.require(fixedSteps == 0, "--steps counts training steps; --inference times for --seconds")
}
let gemmRate = options.flag("gemm-rate", "print the GFLOP/s of Float.gemm: 2048³ NN, then each GEMM shape of the workloads (default: mlp)")
options.require(!(gemmRate && inference), "--gemm-rate and --inference are separate modes")
options.finish()
let names = requested.isEmpty ? (inference ? Workloads.inferenceNames : gemmRate ? ["mlp"] : Workloads.names) : requested

Threads.count = threads
let mnist: MNIST<Float> = loadMNIST(locateMNIST(dataOption, fallbacks: ["Data/mnist", "../shared/data/mnist"]))
// every workload keeps whole mini-batches of up to 128 images in memory
guard mnist.train.count >= 128, mnist.train.images.shape[1] == 784 else {
    fail(
        "backprop-bench: the workloads need at least 128 training images of 28×28; the data has \(mnist.train.count) of \(mnist.train.images.shape[1]) pixels"
    )
}

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
/// CPU seconds used by the whole process so far (all threads): on a busy machine, a step's
/// CPU time varies much less than its wall-clock time.
func cpuTime() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}
/// The process's peak resident memory in MB, as the peer computes it: ru_maxrss (KiB) / 1024.
func peakRSS() -> String {
    var usage = rusage()
    getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
    return String(format: "%.0f", Double(usage.ru_maxrss) / 1024)
}

/// charlstm's text (the other workloads do not need it).
@MainActor func loadCorpus() -> CharacterCorpus {
    let path = locateText(textOption)
    do {
        let loaded = try CharacterCorpus(contentsOf: path, validationFraction: 0.1)
        print("text from \(path): \(loaded.train.count + loaded.validation.count) characters, vocabulary of \(loaded.vocabularySize)")
        try loaded.checkRandomBatches(length: 100, batchSize: 32)
        return loaded
    } catch {
        fail("backprop-bench: charlstm: \(error)\nGive a UTF-8 text file with --text FILE (or TEXT_FILE=FILE).")
    }
}

/// --inference: evaluation-mode fprop of the network, timed as torch_peer.py's --inference.
@MainActor func timeInference(_ name: String) {
    Random.global = Random(seed: 0)
    let network = Workloads.network(name)
    let model = network.model
    model.isTraining = false
    let count = min(1000, mnist.test.count)
    let big = network.transform(mnist.test.images[rows: 0..<count]) // (the peer's x[:1000])
    let one = network.transform(mnist.test.images[rows: 0..<1])
    for _ in 0..<20 { _ = model.fprop(one) }
    var calls = 0
    var start = now()
    while now() - start < seconds / 2 {
        _ = model.fprop(one)
        calls += 1
    }
    let latency = (now() - start) / Double(calls)
    _ = model.fprop(big)
    var images = 0
    start = now()
    while now() - start < seconds / 2 {
        _ = model.fprop(big)
        images += count
    }
    let rate = Double(images) / (now() - start)
    print(
        "workload=\(name) mode=inference threads=\(threads) latency_batch1_us=\(String(format: "%.1f", latency * 1e6)) "
            + "samples_per_s_batch\(count)=\(String(format: "%.1f", rate)) peak_rss_mb=\(peakRSS())")
    fflush(nil)
}

if inference {
    for name in names { timeInference(name) }
    exit(0)
}

/// --gemm-rate: GFLOP/s of one GEMM shape, best of 3 timings of about `seconds / 10` each.
func gemmRate(_ call: GemmTrace.Call) -> Double {
    var replay = GemmReplay([call])
    var best = Double.infinity
    for _ in 0..<3 { best = min(best, replay.timePerReplay(seconds: max(0.05, seconds / 10))) }
    return 2 * Double(call.m) * Double(call.n) * Double(call.k) / best / 1e9
}

func describe(_ call: GemmTrace.Call) -> String {
    "\(call.transA ? "T" : "N")\(call.transB ? "T" : "N") m=\(call.m) n=\(call.n) k=\(call.k) beta=\(call.beta == 0 ? "0" : "\(call.beta)")"
}

if gemmRate {
    let square = GemmTrace.Call(transA: false, transB: false, m: 2048, n: 2048, k: 2048, beta: 0)
    print("gemm=\(describe(square)) threads=\(threads) gflops=\(String(format: "%.1f", gemmRate(square)))")
    fflush(nil)
    for name in names {
        Random.global = Random(seed: 0)
        let workload = Workloads.make(name, train: mnist.train, text: name == "charlstm" ? loadCorpus() : nil)
        workload.step(0)
        let calls = GemmTrace.recording { workload.step(1) }
        var distinct: [GemmTrace.Call] = []
        for call in calls where !distinct.contains(call) { distinct.append(call) }
        var totalFlops = 0.0, totalTime = 0.0
        for call in distinct {
            let rate = gemmRate(call)
            let count = calls.filter { $0 == call }.count
            let flops = 2 * Double(call.m) * Double(call.n) * Double(call.k) * Double(count)
            totalFlops += flops
            totalTime += flops / (rate * 1e9)
            print(
                "workload=\(name) gemm=\(describe(call)) calls_per_step=\(count) threads=\(threads) gflops=\(String(format: "%.1f", rate))")
        }
        print("workload=\(name) gemm=all threads=\(threads) gflops=\(String(format: "%.1f", totalFlops / totalTime / 1e9))")
        fflush(nil)
    }
    exit(0)
}

for name in names {
    Random.global = Random(seed: 0)
    let workload = Workloads.make(name, train: mnist.train, text: name == "charlstm" ? loadCorpus() : nil)
    for i in 0..<5 { workload.step(i) } // warm-up

    var steps = 0
    let start = now(), startCPU = cpuTime()
    while fixedSteps > 0 ? steps < fixedSteps : now() - start < seconds {
        workload.step(steps)
        steps += 1
    }
    let stepTime = (now() - start) / Double(steps), stepCPU = (cpuTime() - startCPU) / Double(steps)
    var line =
        "workload=\(name) threads=\(threads) batch=\(workload.batch) samples_per_s=\(String(format: "%.1f", Double(workload.batch) / stepTime))"
    line += " cpu_ms_per_step=\(String(format: "%.2f", stepCPU * 1000))"
    line += " peak_rss_mb=\(peakRSS())" // (before the GEMM replay's scratch buffers)

    if !noGemm {
        let calls = GemmTrace.recording { workload.step(0) }
        var replay = GemmReplay(calls)
        let gemmTime = replay.timePerReplay(seconds: max(1, seconds / 3))
        line += " gemms_per_step=\(calls.count) gemm_only_samples_per_s=\(String(format: "%.1f", Double(workload.batch) / gemmTime))"
        line += " step_over_gemm=\(String(format: "%.3f", stepTime / gemmTime))"
    }
    print(line)
    fflush(nil)
}
