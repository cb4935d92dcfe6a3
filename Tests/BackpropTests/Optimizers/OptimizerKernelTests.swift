import Backprop
import Foundation
import XCTest

/// Float's C optimizer kernels against the generic update rules (run in Double), and the
/// lazily zeroed gradient that lets the first GEMM overwrite it.
final class OptimizerKernelTests: XCTestCase {
    /// Random w, g, v, m (as Double) of an odd length that splits over two threads.
    func randomState(_ n: Int, seed: UInt64) -> [[Double]] {
        var rng = Random(seed: seed)
        return (0..<4).map { k in (0..<n).map { _ in (rng.nextUnit() * 2 - 1) * (k == 3 ? 0.01 : 1) } }
    }

    func assertFloatMatchesDouble(_ name: String, _ float: [Float], _ double: [Double], file: StaticString = #filePath, line: UInt = #line) {
        var worst = 0.0, at = 0
        for i in double.indices {
            let error = abs(Double(float[i]) - double[i]) / max(1, abs(double[i]))
            if error > worst { worst = error; at = i }
        }
        XCTAssertLessThan(worst, 1e-5, "\(name): Float kernel differs from the Double rule by \(worst) at \(at) (\(float[at]) vs \(double[at]))",
                          file: file, line: line)
    }

    func testSGDVariantsMatchTheGenericRule() {
        let n = 70_001
        let variants: [(String, momentum: Double, l2: Double, l1: Double, nesterov: Bool)] = [
            ("plain", 0, 0, 0, false), ("plain + L2", 0, 0.01, 0, false), ("momentum", 0.9, 0, 0, false),
            ("momentum + L2", 0.9, 0.01, 0, false), ("Nesterov + L2", 0.9, 0.01, 0, true), ("L1 + momentum", 0.9, 0, 0.3, false),
        ]
        for threads in [1, 2] {
            let saved = Threads.count
            Threads.count = threads
            defer { Threads.count = saved }
            for (k, variant) in variants.enumerated() {
                let state = randomState(n, seed: UInt64(k))
                var wd = state[0], vd = state[2], wf = state[0].map(Float.init), vf = state[2].map(Float.init)
                let gd = state[1], gf = state[1].map(Float.init)
                for _ in 0..<3 {
                    Double.sgdStep(&wd, gd, &vd, n, lr: 0.1, momentum: variant.momentum, l2: variant.l2, l1: variant.l1, nesterov: variant.nesterov)
                    Float.sgdStep(&wf, gf, &vf, n, lr: 0.1, momentum: Float(variant.momentum), l2: Float(variant.l2),
                                  l1: Float(variant.l1), nesterov: variant.nesterov)
                }
                assertFloatMatchesDouble("SGD \(variant.0), \(threads) threads: w", wf, wd)
                if variant.momentum != 0 { assertFloatMatchesDouble("SGD \(variant.0), \(threads) threads: v", vf, vd) }
            }
        }
    }

    func testAdamMatchesTheGenericRule() {
        let n = 70_001
        let state = randomState(n, seed: 9)
        var wd = state[0], md = state[2], vd = state[3].map(abs)
        var wf = wd.map(Float.init), mf = md.map(Float.init), vf = vd.map(Float.init)
        let gd = state[1], gf = gd.map(Float.init)
        for t in 1...3 {
            let c1 = 1 - pow(0.9, Double(t)), c2 = 1 - pow(0.999, Double(t))
            Double.adamStep(&wd, gd, &md, &vd, n, lr: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, l2: 0.01,
                            correction1: c1, correction2: c2)
            Float.adamStep(&wf, gf, &mf, &vf, n, lr: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, l2: 0.01,
                           correction1: Float(c1), correction2: Float(c2))
        }
        assertFloatMatchesDouble("Adam: w", wf, wd)
        assertFloatMatchesDouble("Adam: m", mf, md)
        assertFloatMatchesDouble("Adam: v", vf, vd)
    }

    /// After zeroGrad the stored gradient still holds old numbers (even NaN); the next grad
    /// must overwrite them, and reading `grad` must show zeros.
    func testZeroGradIsExactEvenOverStaleNaN() {
        Random.global = Random(seed: testSeed())
        let layer = Linear<Double>(5, 3)
        let fresh = Linear<Double>(5, 3)
        fresh.weight.value = layer.weight.value
        fresh.bias!.value = layer.bias!.value
        let x = Tensor<Double>.uniform([4, 5], in: -1...1), gy = Tensor<Double>.uniform([4, 3], in: -1...1)
        layer.weight.grad = Tensor(repeating: .nan, shape: [3, 5])
        layer.bias!.grad = Tensor(repeating: .nan, shape: [3])
        layer.zeroGrad()
        XCTAssertEqual(layer.weight.grad.scalars, [Double](repeating: 0, count: 15), "grad reads as zeros after zeroGrad")
        layer.weight.grad = Tensor(repeating: .nan, shape: [3, 5])
        layer.bias!.grad = Tensor(repeating: .nan, shape: [3])
        layer.zeroGrad()
        layer.grad(x, gy)
        fresh.grad(x, gy)
        assertClose(layer.weight.grad, fresh.weight.grad, tolerance: 0, "weight gradient after zeroGrad over NaN")
        assertClose(layer.bias!.grad, fresh.bias!.grad, tolerance: 0, "bias gradient after zeroGrad over NaN")
        layer.grad(x, gy)                                   // a second grad adds
        assertClose(layer.weight.grad, fresh.weight.grad * 2, tolerance: 1e-15, "second grad accumulates")
    }

    func testRecurrentGradientsAfterZeroGradOverStaleNaN() {
        Random.global = Random(seed: testSeed())
        for steps in [1, 3] {
            let lstm = LSTM<Double>(2, 3)
            let x = Tensor<Double>.uniform([steps, 2, 2], in: -1...1), gy = Tensor<Double>.uniform([steps, 2, 3], in: -1...1)
            _ = lstm.fprop(x)
            lstm.grad(x, gy)
            let expected = lstm.parameters.map(\.grad)
            for p in lstm.parameters { p.grad = Tensor(repeating: .nan, shape: p.value.shape) }
            lstm.zeroGrad()
            lstm.grad(x, gy)
            for (p, e) in zip(lstm.parameters, expected) { assertClose(p.grad, e, tolerance: 1e-15, "LSTM, \(steps) steps") }
        }
    }
}
