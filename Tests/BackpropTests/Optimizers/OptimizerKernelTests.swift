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

    func assertFloatMatchesDouble(_ name: String, _ float: [Float], _ double: [Double], file: StaticString = #filePath, line: UInt = #line)
    {
        var worst = 0.0, at = 0
        for i in double.indices {
            let error = abs(Double(float[i]) - double[i]) / max(1, abs(double[i]))
            if error > worst { worst = error; at = i }
        }
        XCTAssertLessThan(
            worst, 1e-5, "\(name): Float kernel differs from the Double rule by \(worst) at \(at) (\(float[at]) vs \(double[at]))",
            file: file, line: line)
    }

    /// (Some variants large enough to split over two threads; the rest small, so that the
    /// Double loops of a debug build stay fast.)
    func testSGDVariantsMatchTheGenericRule() {
        let variants: [(String, momentum: Double, dampening: Double, l2: Double, l1: Double, nesterov: Bool)] = [
            ("plain", 0, 0, 0, 0, false), ("plain + L2", 0, 0, 0.01, 0, false), ("momentum", 0.9, 0, 0, 0, false),
            ("momentum + L2", 0.9, 0, 0.01, 0, false), ("Nesterov + L2", 0.9, 0, 0.01, 0, true), ("L1 + momentum", 0.9, 0, 0, 0.3, false),
            ("dampening + L2", 0.9, 0.3, 0.01, 0, false)
        ]
        for threads in [1, 2] {
            let saved = Threads.count
            Threads.count = threads
            defer { Threads.count = saved }
            for (k, variant) in variants.enumerated() {
                let n = threads == 2 && k == variants.count - 1 ? 70_001 : 5_001 // (dampening + L2 split over threads)
                let state = randomState(n, seed: UInt64(k))
                var wd = state[0], vd = state[2], wf = state[0].map(Float.init), vf = state[2].map(Float.init)
                let gd = state[1], gf = state[1].map(Float.init)
                for t in 1...3 {
                    Double.sgdStep(
                        &wd, gd, &vd, n, lr: 0.1, momentum: variant.momentum, oneMinusDampening: 1 - variant.dampening, l2: variant.l2,
                        l1: variant.l1, nesterov: variant.nesterov, first: t == 1)
                    Float.sgdStep(
                        &wf, gf, &vf, n, lr: 0.1, momentum: Float(variant.momentum), oneMinusDampening: Float(1 - variant.dampening),
                        l2: Float(variant.l2), l1: Float(variant.l1), nesterov: variant.nesterov, first: t == 1)
                }
                assertFloatMatchesDouble("SGD \(variant.0), \(threads) threads: w", wf, wd)
                if variant.momentum != 0 { assertFloatMatchesDouble("SGD \(variant.0), \(threads) threads: v", vf, vd) }
            }
        }
    }

    func testAdamVariantsMatchTheGenericRule() {
        for (name, amsgrad, l2, shrink) in [
            ("Adam + L2", false, 0.01, 1.0), ("AMSGrad", true, 0, 1), ("AdamW", false, 0, 0.999),
            ("AdamW AMSGrad", true, 0, 0.999)
        ] {
            let n = name == "AdamW AMSGrad" ? 70_001 : 5_001 // (one that splits over threads)
            let state = randomState(n, seed: 9)
            var wd = state[0], md = state[2], vd = state[3].map(abs), xd = state[3].map { abs($0) * 1.5 }
            var wf = wd.map(Float.init), mf = md.map(Float.init), vf = vd.map(Float.init), xf = xd.map(Float.init)
            let gd = state[1], gf = gd.map(Float.init)
            for t in 1...3 {
                let c1 = 1 - pow(0.9, Double(t)), c2 = 1 - pow(0.999, Double(t))
                xd.withUnsafeMutableBufferPointer { x in
                    Double.adamStep(
                        &wd, gd, &md, &vd, amsgrad ? x.baseAddress! : nil, n, lr: 1e-3, beta1: 0.9, beta2: 0.999, oneMinusBeta1: 1 - 0.9,
                        oneMinusBeta2: 1 - 0.999,
                        epsilon: 1e-8, l2: l2, shrink: shrink, correction1: c1, correction2: c2)
                }
                xf.withUnsafeMutableBufferPointer { x in
                    Float.adamStep(
                        &wf, gf, &mf, &vf, amsgrad ? x.baseAddress! : nil, n, lr: 1e-3, beta1: 0.9, beta2: 0.999,
                        oneMinusBeta1: Float(1 - 0.9), oneMinusBeta2: Float(1 - 0.999),
                        epsilon: 1e-8, l2: Float(l2), shrink: Float(shrink), correction1: Float(c1), correction2: Float(c2))
                }
            }
            assertFloatMatchesDouble("\(name): w", wf, wd)
            assertFloatMatchesDouble("\(name): m", mf, md)
            assertFloatMatchesDouble("\(name): v", vf, vd)
            if amsgrad { assertFloatMatchesDouble("\(name): max v", xf, xd) }
        }
    }

    func testRMSpropVariantsMatchTheGenericRule() {
        for (name, momentum, centered) in [
            ("plain", 0.0, false), ("momentum", 0.9, false), ("centered", 0, true), ("centered + momentum", 0.5, true)
        ] {
            let n = centered && momentum > 0 ? 70_001 : 5_001 // (one that splits over threads)
            let state = randomState(n, seed: 11)
            var wd = state[0], sd = state[3].map { $0 * $0 + 0.02 }, bd = state[2], ad = state[3]
            var wf = wd.map(Float.init), sf = sd.map(Float.init), bf = bd.map(Float.init), af = ad.map(Float.init)
            let gd = state[1], gf = gd.map(Float.init)
            for _ in 1...3 {
                bd.withUnsafeMutableBufferPointer { b in
                    ad.withUnsafeMutableBufferPointer { a in
                        Double.rmspropStep(
                            &wd, gd, &sd, momentum > 0 ? b.baseAddress! : nil, centered ? a.baseAddress! : nil, n,
                            lr: 0.01, alpha: 0.9, oneMinusAlpha: 1 - 0.9, epsilon: 1e-8, l2: 0.01, momentum: momentum)
                    }
                }
                bf.withUnsafeMutableBufferPointer { b in
                    af.withUnsafeMutableBufferPointer { a in
                        Float.rmspropStep(
                            &wf, gf, &sf, momentum > 0 ? b.baseAddress! : nil, centered ? a.baseAddress! : nil, n,
                            lr: 0.01, alpha: 0.9, oneMinusAlpha: Float(1 - 0.9), epsilon: 1e-8, l2: 0.01, momentum: Float(momentum))
                    }
                }
            }
            assertFloatMatchesDouble("RMSprop \(name): w", wf, wd)
            assertFloatMatchesDouble("RMSprop \(name): square_avg", sf, sd)
            if momentum > 0 { assertFloatMatchesDouble("RMSprop \(name): momentum_buffer", bf, bd) }
            if centered { assertFloatMatchesDouble("RMSprop \(name): grad_avg", af, ad) }
        }
    }

    func testAdagradAndMaxNormMatchTheGenericRule() {
        let n = 70_001
        let state = randomState(n, seed: 12)
        var wd = state[0], sd = state[3].map(abs)
        var wf = wd.map(Float.init), sf = sd.map(Float.init)
        let gd = state[1], gf = gd.map(Float.init)
        for _ in 1...3 {
            Double.adagradStep(&wd, gd, &sd, n, lr: 0.1, epsilon: 1e-10, l2: 0.01)
            Float.adagradStep(&wf, gf, &sf, n, lr: 0.1, epsilon: 1e-10, l2: 0.01)
        }
        assertFloatMatchesDouble("Adagrad: w", wf, wd)
        assertFloatMatchesDouble("Adagrad: sum", sf, sd)
        // max-norm over rows of 7 (norms about 1.5): most rows rescaled, on 1 and 2 threads
        for threads in [1, 2] {
            let saved = Threads.count
            Threads.count = threads
            defer { Threads.count = saved }
            var md = state[0].map { $0 * 1.3 }, mf = md.map(Float.init)
            Double.maxNormRows(&md, n / 7, 7, maxNorm: 1.2)
            Float.maxNormRows(&mf, n / 7, 7, maxNorm: 1.2)
            assertFloatMatchesDouble("max-norm, \(threads) threads", mf, md)
            XCTAssertNotEqual(md, state[0].map { $0 * 1.3 }, "some rows were rescaled")
        }
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
        layer.grad(x, gy) // a second grad adds
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
