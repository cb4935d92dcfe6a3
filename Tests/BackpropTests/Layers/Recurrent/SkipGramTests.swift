// Tests of word2vec's pieces: SkipGramLoss (gradient check, a value by hand), the sparse
// update of Embedding against the dense path, and the fused kernel against the verbs.
import Backprop
import Foundation
import XCTest

final class SkipGramTests: XCTestCase {
    func testLossGradientCheck() {
        var rng = Random(seed: testSeed())
        let x = Tensor<Double>.normal([3, 2 + 4, 5], std: 0.7, using: &rng) // N 3, K 4, D 5
        var mask = [Bool](repeating: true, count: 12)
        mask[5] = false // one negative that drew the positive
        assertGradientsMatch(SkipGramLoss<Double>(), input: x, target: mask)
    }

    func testLossByHand() {
        // u = 1, v₀ = 2, v₁ = −1, v₂ masked: −log σ(2) − log σ(1)
        let x = Tensor<Double>(shape: [1, 4, 1], scalars: [1, 2, -1, 5])
        let expected = log(1 + exp(-2.0)) + log(1 + exp(-1.0))
        XCTAssertEqual(SkipGramLoss<Double>().forward(x, [true, false]), expected, accuracy: 1e-12)
        // ∂/∂u = −(1 − σ(2))·2 + σ(−1)·(−1); ∂/∂v₀ = −(1 − σ(2))·1; ∂/∂v₁ = σ(−1)·1; v₂ none
        let sigma = { (z: Double) in 1 / (1 + exp(-z)) }
        let g = SkipGramLoss<Double>().backward(x, [true, false]).scalars
        XCTAssertEqual(g[0], -(1 - sigma(2)) * 2 - sigma(-1), accuracy: 1e-12)
        XCTAssertEqual(g[1], -(1 - sigma(2)), accuracy: 1e-12)
        XCTAssertEqual(g[2], sigma(-1), accuracy: 1e-12)
        XCTAssertEqual(g[3], 0)
    }

    func testStackAndUnstack() {
        let u = Tensor<Double>(shape: [2, 2], scalars: [1, 2, 3, 4])
        let v = Tensor<Double>(shape: [2, 2, 2], scalars: [5, 6, 7, 8, 9, 10, 11, 12])
        let x = SkipGramLoss<Double>.stack(u, v)
        XCTAssertEqual(x.shape, [2, 3, 2])
        XCTAssertEqual(x.scalars, [1, 2, 5, 6, 7, 8, 3, 4, 9, 10, 11, 12])
        let (a, b) = SkipGramLoss<Double>.unstack(x)
        XCTAssertEqual(a, u)
        XCTAssertEqual(b, v)
    }

    func testSparseUpdateMatchesDenseSGD() {
        var rng = Random(seed: testSeed())
        let dense = Embedding<Double>(6, 3, using: &rng)
        let sparse = Embedding<Double>(weight: Parameter(dense.weight.value))
        let before = dense.weight.value
        let indices = [1, 4, 1] // row 1 twice
        let gy = Tensor<Double>.normal([3, 3], using: &rng)
        dense.zeroGrad()
        dense.grad(Tensor(shape: [3], scalars: indices.map(Double.init)), gy)
        SGD(dense.parameters, learningRate: 0.1).step()
        sparse.sparseUpdate(indices: indices, gradOutput: gy, learningRate: 0.1)
        for (a, b) in zip(dense.weight.value.scalars, sparse.weight.value.scalars) { XCTAssertEqual(a, b, accuracy: 1e-14) }
        for row in [0, 2, 3, 5] { // untouched rows: the same bits
            XCTAssertEqual(Array(sparse.weight.value.scalars[row * 3..<row * 3 + 3]), Array(before.scalars[row * 3..<row * 3 + 3]))
        }
        XCTAssertNotEqual(Array(sparse.weight.value.scalars[3..<6]), Array(before.scalars[3..<6]))
    }

    /// One example at a time through the verbs: fprop, SkipGramLoss, sparseUpdate.
    func verbsStep(_ a: Embedding<Double>, _ b: Embedding<Double>, input: Int, positive: Int, negatives: [Int], lr: Double) -> Double {
        let u = a.fprop(Tensor(shape: [1], scalars: [Double(input)]))
        let targets = [positive] + negatives
        let v = b.fprop(Tensor(shape: [1, targets.count], scalars: targets.map(Double.init)))
        let x = SkipGramLoss<Double>.stack(u, v), mask = negatives.map { $0 != positive }
        let loss = SkipGramLoss<Double>().forward(x, mask)
        let (gu, gv) = SkipGramLoss<Double>.unstack(SkipGramLoss<Double>().backward(x, mask))
        a.sparseUpdate(indices: [input], gradOutput: gu, learningRate: lr)
        b.sparseUpdate(indices: targets, gradOutput: gv.reshaped([targets.count, a.dimension]), learningRate: lr)
        return loss
    }

    func testFusedStepMatchesTheVerbs() {
        var rng = Random(seed: testSeed())
        let a = Embedding<Double>(7, 6, using: &rng), b = Embedding<Double>(7, 6, using: &rng)
        let c = Embedding<Double>(weight: Parameter(a.weight.value)), d = Embedding<Double>(weight: Parameter(b.weight.value))
        // distinct negatives per example (the fused step is sequential over an example's
        // targets, the verbs simultaneous: they agree when no target repeats); example 2
        // has a negative equal to its positive, which both skip
        let examples: [(Int, Int, [Int])] = [(0, 3, [1, 2, 5]), (3, 0, [4, 6, 1]), (5, 2, [2, 0, 6])]
        var verbs = 0.0, fused = 0.0
        for (input, positive, negatives) in examples {
            verbs += verbsStep(a, b, input: input, positive: positive, negatives: negatives, lr: 0.3)
            fused += SkipGram.train(
                input: c, output: d, inputs: [Int32(input)], positives: [Int32(positive)],
                negatives: negatives.map(Int32.init), learningRate: 0.3)
        }
        XCTAssertEqual(verbs, fused, accuracy: 1e-12)
        for (x, y) in zip(a.weight.value.scalars + b.weight.value.scalars, c.weight.value.scalars + d.weight.value.scalars) {
            XCTAssertEqual(x, y, accuracy: 1e-12)
        }
    }

    func testFloatKernelMatchesDouble() {
        var rng = Random(seed: testSeed())
        let (rows, dim, k, count) = (9, 37, 5, 40) // 37: not a multiple of the vector width
        let u0 = Tensor<Double>.normal([rows, dim], std: 0.3, using: &rng), v0 = Tensor<Double>.normal([rows, dim], std: 0.3, using: &rng)
        let inputs = (0..<count).map { _ in Int32(rng.next() % UInt64(rows)) }
        let positives = (0..<count).map { _ in Int32(rng.next() % UInt64(rows)) }
        let negatives = (0..<count * k).map { _ in Int32(rng.next() % UInt64(rows)) } // repeats and positives included
        let a = Embedding<Double>(weight: Parameter(u0)), b = Embedding<Double>(weight: Parameter(v0))
        let f = Embedding<Float>(weight: Parameter(Tensor(shape: [rows, dim], scalars: u0.scalars.map(Float.init))))
        let g = Embedding<Float>(weight: Parameter(Tensor(shape: [rows, dim], scalars: v0.scalars.map(Float.init))))
        let lossD = SkipGram.train(input: a, output: b, inputs: inputs, positives: positives, negatives: negatives, learningRate: 0.2)
        let lossF = SkipGram.train(input: f, output: g, inputs: inputs, positives: positives, negatives: negatives, learningRate: 0.2)
        XCTAssertEqual(lossF, lossD, accuracy: 1e-4 * lossD)
        for (x, y) in zip(
            a.weight.value.scalars + b.weight.value.scalars, (f.weight.value.scalars + g.weight.value.scalars).map(Double.init))
        {
            XCTAssertEqual(x, y, accuracy: 1e-5)
        }
        XCTAssertNotEqual(a.weight.value, u0)
    }

    func testTrainingSeparatesPositivesFromNegatives() {
        // one pair trained many times: its loss must fall (the step goes downhill)
        var rng = Random(seed: testSeed())
        let a = Embedding<Double>(weight: Parameter(.normal([4, 8], std: 0.1, using: &rng)))
        let b = Embedding<Double>(weight: Parameter(.zeros([4, 8])))
        let first = SkipGram.train(input: a, output: b, inputs: [0], positives: [1], negatives: [2, 3], learningRate: 0.5)
        var last = first
        for _ in 0..<50 { last = SkipGram.train(input: a, output: b, inputs: [0], positives: [1], negatives: [2, 3], learningRate: 0.5) }
        XCTAssertEqual(first, 3 * log(2.0), accuracy: 1e-12) // zero output vectors: σ(0) = ½ for all three
        XCTAssertLessThan(last, 0.1)
    }
}
