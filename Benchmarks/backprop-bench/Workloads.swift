import Backprop
import ExampleSupport
import Foundation

/// One canonical workload: its batch size and a training step over in-memory batches.
struct Workload {
    let batch: Int
    /// Runs training step number `i` (cycling over the batches).
    let step: (Int) -> Void
}

/// One of the image workloads' networks: the model, its batch, its loss and the layout
/// its input takes (applied once to the data, outside the timed loop).
struct Network {
    enum Loss { case crossEntropy, reconstruction }
    let model: Sequential<Float>
    let batch: Int
    let loss: Loss
    /// `[N, 784]` MNIST rows → the model's input.
    let transform: (Tensor<Float>) -> Tensor<Float>
}

enum Workloads {
    static let names = ["mlp", "convnet", "lstm", "autoencoder", "resnet", "charlstm", "gan"]
    /// The workloads whose model `--inference` can time (the networks over MNIST images).
    static let inferenceNames = ["mlp", "convnet", "lstm", "autoencoder", "resnet"]

    /// The model, loss and input layout of each workload, as WORKLOADS.md defines them.
    /// `text` (charlstm's corpus, nil for the others) is only read by charlstm.
    static func make(_ name: String, train: LabeledImages<Float>, text: CharacterCorpus?) -> Workload {
        switch name {
        case "charlstm":
            guard let text else { fail("backprop-bench: charlstm needs its text") }
            return characterLSTM(text)
        case "gan": return gan(train: train)
        default:
            let network = network(name)
            switch network.loss {
            case .crossEntropy: return classifier(network, train: train)
            case .reconstruction: return reconstruction(network, train: train)
            }
        }
    }

    /// The network of an image workload (one of `inferenceNames`).
    static func network(_ name: String) -> Network {
        switch name {
        case "mlp":
            return Network(model: perceptron([784, 1024, 1024, 10]), batch: 128, loss: .crossEntropy) { $0 }
        case "autoencoder":
            let sizes = [784, 1000, 500, 250, 30, 250, 500, 1000, 784]
            let model = Sequential<Float>()
            for i in 0..<(sizes.count - 1) {
                model.add(Linear(sizes[i], sizes[i + 1]))
                if i != 3 { model.add(Sigmoid()) } // linear code layer
            }
            return Network(model: model, batch: 128, loss: .reconstruction) { $0 }
        default:
            return extraNetwork(name)
        }
    }

    /// Cross-entropy training of the network on its transformed images, SGD lr 0.01 momentum 0.9.
    static func classifier(_ network: Network, train: LabeledImages<Float>) -> Workload {
        let model = network.model
        let batches = inMemoryBatches(train, batch: network.batch).map { (network.transform($0.images), $0.labels) }
        let loss = CrossEntropyLoss<Float>()
        let sgd = SGD(model.parameters, learningRate: 0.01, momentum: 0.9)
        return Workload(batch: network.batch) { i in
            let (x, y) = batches[i % batches.count]
            let scores = model.fprop(x)
            _ = loss.forward(scores, y)
            model.zeroGrad()
            model.grad(x, loss.backward(scores, y))
            sgd.step()
        }
    }

    /// Summed squared reconstruction error / B, SGD lr 0.01 momentum 0.9.
    static func reconstruction(_ network: Network, train: LabeledImages<Float>) -> Workload {
        let model = network.model
        let batches = inMemoryBatches(train, batch: network.batch).map { network.transform($0.images) }
        let loss = MSELoss<Float>(reduction: .batchMean)
        let sgd = SGD(model.parameters, learningRate: 0.01, momentum: 0.9)
        return Workload(batch: network.batch) { i in
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
