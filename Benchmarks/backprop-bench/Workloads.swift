import Backprop
import Foundation

/// One canonical workload: its batch size and a training step over in-memory batches.
struct Workload {
    let batch: Int
    /// Runs training step number `i` (cycling over the batches).
    let step: (Int) -> Void
}

enum Workloads {
    static let names = ["mlp", "convnet", "lstm", "autoencoder", "resnet"]

    /// The model, loss and input layout of each workload, as WORKLOADS.md defines them.
    static func make(_ name: String, train: LabeledImages<Float>) -> Workload {
        switch name {
        case "mlp":
            let model = Sequential<Float> {
                Linear(784, 1024); ReLU()
                Linear(1024, 1024); ReLU()
                Linear(1024, 10)
            }
            return classifier(model, batch: 128, train: train) { $0 }
        case "autoencoder":
            let sizes = [784, 1000, 500, 250, 30, 250, 500, 1000, 784]
            let model = Sequential<Float>()
            for i in 0..<(sizes.count - 1) {
                model.add(Linear(sizes[i], sizes[i + 1]))
                if i != 3 { model.add(Sigmoid()) } // linear code layer
            }
            return reconstruction(model, batch: 128, train: train)
        default:
            return extraWorkload(name, train: train)
        }
    }

    /// Cross-entropy training of `model` on `transform(images)`.
    static func classifier(
        _ model: Sequential<Float>, batch: Int, train: LabeledImages<Float>,
        _ transform: (Tensor<Float>) -> Tensor<Float>
    ) -> Workload {
        let batches = inMemoryBatches(train, batch: batch).map { (transform($0.images), $0.labels) }
        let loss = CrossEntropyLoss<Float>()
        let sgd = SGD(model.parameters, learningRate: 0.01, momentum: 0.9)
        return Workload(batch: batch) { i in
            let (x, y) = batches[i % batches.count]
            let scores = model.fprop(x)
            _ = loss.forward(scores, y)
            model.zeroGrad()
            model.grad(x, loss.backward(scores, y))
            sgd.step()
        }
    }

    /// Summed squared reconstruction error / B.
    static func reconstruction(_ model: Sequential<Float>, batch: Int, train: LabeledImages<Float>) -> Workload {
        let batches = inMemoryBatches(train, batch: batch).map(\.images)
        let loss = MSELoss<Float>(reduction: .batchMean)
        let sgd = SGD(model.parameters, learningRate: 0.01, momentum: 0.9)
        return Workload(batch: batch) { i in
            let x = batches[i % batches.count]
            let r = model.fprop(x)
            _ = loss.forward(r, x)
            model.zeroGrad()
            model.grad(x, loss.backward(r, x))
            sgd.step()
        }
    }

    /// Consecutive full mini-batches, built once (no data handling in the timed loop).
    static func inMemoryBatches(_ data: LabeledImages<Float>, batch: Int) -> [(images: Tensor<Float>, labels: [Int])] {
        (0..<(data.count / batch)).map { j in data.batch(Array((j * batch)..<((j + 1) * batch))) }
    }
}

/// Replays recorded GEMM calls on scratch buffers, to time the GEMMs of a step alone.
struct GemmReplay {
    let calls: [GemmTrace.Call]
    var a: [Float], b: [Float], c: [Float]

    init(_ calls: [GemmTrace.Call]) {
        self.calls = calls
        let size = calls.map { max($0.m * $0.k, $0.k * $0.n, $0.m * $0.n) }.max() ?? 1
        var rng = Random(seed: 1)
        a = (0..<size).map { _ in Float(rng.nextUnit()) }
        b = (0..<size).map { _ in Float(rng.nextUnit()) }
        c = [Float](repeating: 0, count: size)
    }

    /// Seconds per replay of all calls, measured over about `seconds`.
    mutating func timePerReplay(seconds: Double) -> Double {
        func replay() {
            a.withUnsafeBufferPointer { a in
                b.withUnsafeBufferPointer { b in
                    c.withUnsafeMutableBufferPointer { c in
                        for call in calls {
                            // row-major leading dimensions of op(A)[m,k], op(B)[k,n], C[m,n]
                            Float.gemm(
                                transA: call.transA, transB: call.transB, m: call.m, n: call.n, k: call.k, alpha: 1,
                                a: a.baseAddress!, lda: call.transA ? call.m : call.k,
                                b: b.baseAddress!, ldb: call.transB ? call.k : call.n,
                                beta: Float(call.beta), c: c.baseAddress!, ldc: call.n)
                        }
                    }
                }
            }
        }
        for _ in 0..<3 { replay() }
        var count = 0
        let start = DispatchTime.now().uptimeNanoseconds
        var elapsed = 0.0
        while elapsed < seconds {
            replay()
            count += 1
            elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        return elapsed / Double(count)
    }
}
