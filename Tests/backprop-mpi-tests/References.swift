import Backprop
import BackpropMPI

// The reference computations the rank checks compare against: plain single-process code.

/// ‖a − b‖∞ / ‖b‖∞ (0 when both are zero).
func relativeError<S: TensorScalar>(_ a: Tensor<S>, _ b: Tensor<S>) -> Double {
    let diff = zip(a.scalars, b.scalars).map { abs(Double($0) - Double($1)) }.max() ?? 0
    let norm = b.scalars.map { abs(Double($0)) }.max() ?? 0
    return norm == 0 ? diff : diff / norm
}

/// A small network with several layers (so several buckets with a small bucket size).
func smallNetwork<S: TensorScalar>(seed: UInt64, hidden: Int = 16, batchNorm: Bool = false) -> Sequential<S> {
    Random.global = Random(seed: seed)
    let model = Sequential<S> {
        Linear<S>(12, hidden); Tanh<S>()
    }
    if batchNorm { model.add(BatchNorm1d<S>(hidden)) }
    model.add(Linear<S>(hidden, hidden)); model.add(ReLU<S>())
    model.add(Linear<S>(hidden, 5))
    return model
}

/// Synthetic labelled data: `count` rows of 12 features, labels 0..<5.
func syntheticData<S: TensorScalar>(_ count: Int, seed: UInt64) -> LabeledImages<S> {
    var rng = Random(seed: seed)
    let images = Tensor<S>.normal([count, 12], using: &rng)
    let labels = (0..<count).map { _ in Int(rng.next() % 5) }
    return LabeledImages(images: images, labels: labels, classCount: 5)
}

/// The data-parallel step emulated in one process: the batch cut into the ranks' parts,
/// each part's gradient times its weight, summed in rank order, then one optimizer step.
/// On 2 ranks the sum of two numbers does not depend on the order, so a 2-rank run must
/// match this bit for bit.
func emulatedStep<S: TensorScalar>(_ model: Sequential<S>, _ sgd: SGD<S>, _ images: Tensor<S>, _ labels: [Int], ranks: Int) {
    let loss = CrossEntropyLoss<S>()
    var sums: [Tensor<S>] = []
    for r in 0..<ranks {
        let rows = DataParallel<Sequential<S>>.shardRows(count: labels.count, rank: r, size: ranks)
        let x = images[rows: rows], y = Array(labels[rows])
        let scores = model.fprop(x)
        _ = loss.forward(scores, y)
        model.zeroGrad()
        model.grad(x, loss.backward(scores, y))
        let weight = S(Double(rows.count) / Double(labels.count))
        let parts = model.parameters.map { $0.grad * weight }
        sums = sums.isEmpty ? parts : zip(sums, parts).map { $0 + $1 }
    }
    for (p, g) in zip(model.parameters, sums) { p.grad = g }
    sgd.step()
}
