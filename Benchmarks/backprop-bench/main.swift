// backprop-bench: training throughput of the canonical workloads (shared/bench/WORKLOADS.md),
// in the PyTorch peer's output format, plus the distance to what the BLAS allows.
//
//   swift run -c release backprop-bench [mlp convnet lstm autoencoder resnet] --threads 1 --seconds 5
//   swift run -c release backprop-bench resnet --steps 3 --no-gemm      (a short run, for profilers)
//
// For each workload: build the model, keep mini-batches of MNIST in memory, run 5
// warm-up steps, then time whole steps (fprop, loss, grad, SGD update) for --seconds (or
// --steps of them). `cpu_ms_per_step` is the process's CPU time per step (all threads).
// Then the same step's GEMM calls (recorded by GemmTrace: same shapes, same order) are
// timed alone; `step_over_gemm` is the full step's time over the GEMM-only time.

import Backprop
import ExampleSupport
import Foundation

let options = Options("backprop-bench", "training samples/s of the canonical workloads", booleanFlags: ["no-gemm"])
let requested = options.arguments("workload", "workloads to run: \(Workloads.names.joined(separator: ", ")) (default: all)")
let threads = options.threads(1)
let seconds = options.double("seconds", 5, "timed seconds per workload", range: 0.001...86_400)
let fixedSteps = options.int(
    "steps", 0, "time exactly this many steps instead of --seconds (0: use --seconds); for short profiling runs", range: 0...1_000_000)
let dataOption = options.mnistData("MNIST directory (else $MNIST_DIR, else ./Data/mnist, else ../shared/data/mnist)")
let noGemm = options.flag("no-gemm", "skip the GEMM-only timing")
for name in requested where !Workloads.names.contains(name) {
    options.require(false, "unknown workload '\(name)' (known: \(Workloads.names.joined(separator: ", ")))")
}
options.finish()
let names = requested.isEmpty ? Workloads.names : requested

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

for name in names {
    Random.global = Random(seed: 0)
    let workload = Workloads.make(name, train: mnist.train)
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
