import Backprop
import Foundation
import XCTest

/// Gradient checks and reference tests for RNN, LSTM, GRU, LastStep, Embedding, TimeMajor.
final class RecurrentTests: XCTestCase {
    // Shapes exercising T > 1, N > 1 and I ≠ H.
    let (T, N, I, H) = (4, 3, 3, 5)

    enum Kind: CaseIterable { case rnn, lstm, gru }

    func make(_ kind: Kind, _ inputSize: Int, _ hiddenSize: Int, using rng: inout Random) -> any RecurrentLayer<Double> {
        switch kind {
        case .rnn: return RNN<Double>(inputSize, hiddenSize, using: &rng)
        case .lstm: return LSTM<Double>(inputSize, hiddenSize, using: &rng)
        case .gru: return GRU<Double>(inputSize, hiddenSize, using: &rng)
        }
    }

    func randomState(_ kind: Kind, using rng: inout Random) -> RecurrentState<Double> {
        RecurrentState(
            hidden: .normal([N, H], std: 0.5, using: &rng),
            cell: kind == .lstm ? .normal([N, H], std: 0.5, using: &rng) : nil)
    }

    // MARK: gradient checks

    func testGradientsFromZeroState() {
        var rng = Random(seed: testSeed())
        for kind in Kind.allCases {
            let layer = make(kind, I, H, using: &rng)
            assertGradientsMatch(layer, input: .normal([T, N, I], using: &rng), "\(kind) from zeros")
            XCTAssertNil(layer.initialStateGradient, "\(kind): no initial state was set, so there is no gradient for it")
        }
    }

    func testGradientsFromInitialState() {
        var rng = Random(seed: testSeed())
        for kind in Kind.allCases {
            let layer = make(kind, I, H, using: &rng)
            layer.initialState = randomState(kind, using: &rng)
            let x = Tensor<Double>.normal([T, N, I], using: &rng)
            assertGradientsMatch(layer, input: x, "\(kind) from an initial state")
            checkInitialStateGradient(layer, kind, x, using: &rng)
        }
    }

    /// ∂L/∂h₀ (and ∂L/∂c₀) against central differences of L = Σ fprop(x) ⊙ R.
    func checkInitialStateGradient(
        _ layer: any RecurrentLayer<Double>, _ kind: Kind, _ x: Tensor<Double>,
        using rng: inout Random
    ) {
        let r = Tensor<Double>.normal([T, N, H], using: &rng)
        _ = layer.fprop(x)
        _ = layer.backward(x, r)
        guard let analytic = layer.initialStateGradient else { return XCTFail("\(kind): no initialStateGradient after backward") }
        XCTAssertEqual(analytic.cell != nil, kind == .lstm, "\(kind): a cell-state gradient exactly for the LSTM")
        let start = layer.initialState!
        func loss(_ state: RecurrentState<Double>) -> Double {
            layer.initialState = state
            return (layer.fprop(x) * r).sum()
        }
        let eps = 1e-6
        for (name, part) in [("h0", \RecurrentState<Double>.hidden), ("c0", \RecurrentState<Double>.cell!)]
        where name == "h0" || kind == .lstm {
            let grad = analytic[keyPath: part]
            var worst = 0.0
            for i in 0..<grad.count {
                var plus = start, minus = start
                plus[keyPath: part].scalars[i] += eps
                minus[keyPath: part].scalars[i] -= eps
                let numeric = (loss(plus) - loss(minus)) / (2 * eps)
                worst = max(worst, abs(numeric - grad.scalars[i]) / max(1, abs(numeric)))
            }
            XCTAssertLessThan(worst, 1e-7, "\(kind): ∂L/∂\(name) disagrees with central differences by \(worst)")
        }
        layer.initialState = start
    }

    func testStackedLSTMInSequential() {
        var rng = Random(seed: testSeed())
        let model = Sequential<Double>([LSTM<Double>(I, H, using: &rng), LSTM<Double>(H, 4, using: &rng)])
        XCTAssertEqual(
            model.namedParameters.map(\.name),
            [
                "0.weight_ih_l0", "0.weight_hh_l0", "0.bias_ih_l0", "0.bias_hh_l0",
                "1.weight_ih_l0", "1.weight_hh_l0", "1.bias_ih_l0", "1.bias_hh_l0"
            ])
        assertGradientsMatch(model, input: .normal([T, N, I], using: &rng), "two stacked LSTMs")
    }

    func testClassifierOnLastStep() {
        var rng = Random(seed: testSeed())
        let model = Sequential<Double>([
            TimeMajor<Double>(steps: T), GRU<Double>(I, H, using: &rng),
            LastStep<Double>(), Linear<Double>(H, 2, using: &rng)
        ])
        assertGradientsMatch(model, input: .normal([N, T * I], using: &rng), "TimeMajor → GRU → LastStep → Linear")
    }

    func testLastStep() {
        var rng = Random(seed: testSeed())
        let x = Tensor<Double>.normal([T, N, H], using: &rng)
        let layer = LastStep<Double>()
        let y = layer.fprop(x)
        XCTAssertEqual(y.shape, [N, H])
        XCTAssertEqual(y.scalars, Array(x.scalars[((T - 1) * N * H)...]))
        assertGradientsMatch(layer, input: x)
        XCTAssertThrowsError(try layer.outputShape(for: [N, H]))
    }

    func testTimeMajor() {
        var rng = Random(seed: testSeed())
        let x = Tensor<Double>.normal([N, T * I], using: &rng)
        let layer = TimeMajor<Double>(steps: T)
        let y = layer.fprop(x)
        XCTAssertEqual(y.shape, [T, N, I])
        for t in 0..<T { for n in 0..<N { for i in 0..<I { XCTAssertEqual(y[t, n, i], x[n, t * I + i]) } } }
        assertGradientsMatch(layer, input: x)
        XCTAssertEqual(layer.bprop(x, y), x, "bprop of a permutation is its inverse")
        XCTAssertThrowsError(try layer.outputShape(for: [N, T * I + 1]))
    }

    func testEmbedding() {
        var rng = Random(seed: testSeed())
        let embed = Embedding<Double>(5, 3, using: &rng)
        XCTAssertEqual(embed.namedParameters.map(\.name), ["weight"])
        XCTAssertEqual(embed.weight.value.shape, [5, 3])
        // repeated indices: 1 three times, 3 twice; 2 never
        let x = Tensor<Double>(shape: [2, 3], scalars: [1, 3, 1, 0, 3, 1])
        let y = embed.fprop(x)
        XCTAssertEqual(y.shape, [2, 3, 3])
        for k in 0..<6 {
            let row = Int(x.scalars[k])
            XCTAssertEqual(Array(y.scalars[(k * 3)..<(k * 3 + 3)]), Array(embed.weight.value.scalars[(row * 3)..<(row * 3 + 3)]))
        }
        assertGradientsMatch(embed, input: x, checkInput: false, "repeated indices")
        XCTAssertEqual(embed.bprop(x, y), .zeros([2, 3]), "indices have no gradient")
        // the unused row gets no gradient, a repeated row the sum of its gradients
        embed.zeroGrad()
        let g = Tensor<Double>.normal(y.shape, using: &rng)
        embed.grad(x, g)
        XCTAssertEqual(Array(embed.weight.grad.scalars[6..<9]), [0, 0, 0])
        for j in 0..<3 { XCTAssertEqual(embed.weight.grad[1, j], g[0, 0, j] + g[0, 2, j] + g[1, 2, j], accuracy: 1e-12) }
    }

    // MARK: caching of BPTT between grad and bprop

    func testBpropAndGradAloneAndTogether() {
        var rng = Random(seed: testSeed())
        for kind in Kind.allCases {
            let layer = make(kind, I, H, using: &rng)
            layer.initialState = randomState(kind, using: &rng)
            let x = Tensor<Double>.normal([T, N, I], using: &rng)
            let g1 = Tensor<Double>.normal([T, N, H], using: &rng), g2 = Tensor<Double>.normal([T, N, H], using: &rng)

            _ = layer.fprop(x)
            let dx2 = layer.bprop(x, g2) // bprop alone
            let dh2 = layer.initialStateGradient
            layer.zeroGrad()
            _ = layer.fprop(x)
            layer.grad(x, g1) // grad alone
            let grads1 = layer.parameters.map(\.grad)

            // grad with g1, then bprop with another gradOutput: must not reuse g1's BPTT
            layer.zeroGrad()
            _ = layer.fprop(x)
            layer.grad(x, g1)
            assertClose(layer.bprop(x, g2), dx2, tolerance: 1e-12, "\(kind): bprop after grad with another gradOutput")
            XCTAssertEqual(layer.initialStateGradient, dh2, "\(kind)")
            XCTAssertEqual(layer.parameters.map(\.grad), grads1, "\(kind)")

            // bprop then grad with the same gradOutput, and a repeated fprop in between
            layer.zeroGrad()
            _ = layer.fprop(x)
            _ = layer.bprop(x, g2)
            _ = layer.fprop(x)
            layer.grad(x, g1)
            for (a, b) in zip(layer.parameters.map(\.grad), grads1) { assertClose(a, b, tolerance: 1e-12, "\(kind)") }
        }
    }

    // MARK: state

    func testStatefulModeContinuesTheSequence() {
        var rng = Random(seed: testSeed())
        for kind in Kind.allCases {
            let layer = make(kind, I, H, using: &rng)
            let x1 = Tensor<Double>.normal([3, N, I], using: &rng), x2 = Tensor<Double>.normal([2, N, I], using: &rng)
            let whole = layer.fprop(Tensor(shape: [5, N, I], scalars: x1.scalars + x2.scalars))
            let fresh2 = layer.fprop(x2)

            layer.isStateful = true
            let y1 = layer.fprop(x1)
            XCTAssertEqual(layer.initialState, layer.finalState, "\(kind): stateful fprop carries its final state")
            let carried = layer.initialState!
            let y2 = layer.fprop(x2)
            assertClose(y1, Tensor(shape: [3, N, H], scalars: Array(whole.scalars[..<(3 * N * H)])), tolerance: 1e-12, "\(kind)")
            assertClose(
                y2, Tensor(shape: [2, N, H], scalars: Array(whole.scalars[(3 * N * H)...])), tolerance: 1e-12,
                "\(kind): the second call starts from the first one's final state")
            XCTAssertEqual(layer.finalState!.hidden.scalars, Array(whole.scalars[(4 * N * H)...]), "\(kind)")

            // no gradient across the boundary: the same as starting from a constant state
            let g = Tensor<Double>.normal([2, N, H], using: &rng)
            layer.zeroGrad()
            _ = layer.backward(x2, g)
            let statefulGrads = layer.parameters.map(\.grad)
            let reference = make(kind, I, H, using: &rng)
            for (p, q) in zip(reference.parameters, layer.parameters) { p.value = q.value }
            reference.initialState = carried
            _ = reference.fprop(x2)
            _ = reference.backward(x2, g)
            for (a, b) in zip(statefulGrads, reference.parameters.map(\.grad)) { assertClose(a, b, tolerance: 1e-12, "\(kind)") }

            layer.resetState()
            XCTAssertNil(layer.initialState)
            assertClose(layer.fprop(x2), fresh2, tolerance: 0, "\(kind): after resetState the run starts from zeros")
        }
    }

    // MARK: against a naive per-step reference

    /// One step at a time with plain tensor operations and scalar formulas.
    func naive(
        _ kind: Kind, _ layer: any RecurrentLayer<Double>, _ x: Tensor<Double>,
        _ start: RecurrentState<Double>?
    ) -> (output: [Double], h: [Double], c: [Double]) {
        let p = Dictionary(uniqueKeysWithValues: layer.namedParameters.map { ($0.name, $0.parameter.value) })
        let (steps, n, h) = (x.shape[0], x.shape[1], layer.hiddenSize)
        func sigmoid(_ v: Double) -> Double { 1 / (1 + exp(-v)) }
        var hPrev = start?.hidden ?? .zeros([n, h]), cPrev = start?.cell ?? .zeros([n, h])
        var output: [Double] = []
        for t in 0..<steps {
            let xt = x[rows: t..<(t + 1)].reshaped([n, layer.inputSize])
            let a = Tensor.matmul(xt, p["weight_ih_l0"]!, transposeB: true).addingRowVector(p["bias_ih_l0"]!)
            let b = Tensor.matmul(hPrev, p["weight_hh_l0"]!, transposeB: true).addingRowVector(p["bias_hh_l0"]!)
            var hNew = Tensor<Double>.zeros([n, h]), cNew = Tensor<Double>.zeros([n, h])
            for i in 0..<n {
                for j in 0..<h {
                    switch kind {
                    case .rnn:
                        hNew[i, j] = tanh(a[i, j] + b[i, j])
                    case .lstm:
                        let gi = sigmoid(a[i, j] + b[i, j]), gf = sigmoid(a[i, h + j] + b[i, h + j])
                        let gg = tanh(a[i, 2 * h + j] + b[i, 2 * h + j]), go = sigmoid(a[i, 3 * h + j] + b[i, 3 * h + j])
                        cNew[i, j] = gf * cPrev[i, j] + gi * gg
                        hNew[i, j] = go * tanh(cNew[i, j])
                    case .gru:
                        let r = sigmoid(a[i, j] + b[i, j]), z = sigmoid(a[i, h + j] + b[i, h + j])
                        let nn = tanh(a[i, 2 * h + j] + r * b[i, 2 * h + j])
                        hNew[i, j] = (1 - z) * nn + z * hPrev[i, j]
                    }
                }
            }
            output += hNew.scalars
            hPrev = hNew
            cPrev = cNew
        }
        return (output, hPrev.scalars, cPrev.scalars)
    }

    func testBatchedForwardEqualsNaiveSteps() {
        var rng = Random(seed: testSeed())
        for kind in Kind.allCases {
            for withState in [false, true] {
                let layer = make(kind, I, H, using: &rng)
                let start = withState ? randomState(kind, using: &rng) : nil
                layer.initialState = start
                let x = Tensor<Double>.normal([T, N, I], using: &rng)
                let y = layer.fprop(x)
                let reference = naive(kind, layer, x, start)
                assertClose(y, Tensor(shape: [T, N, H], scalars: reference.output), tolerance: 1e-12, "\(kind) state \(withState)")
                assertClose(layer.finalState!.hidden, Tensor(shape: [N, H], scalars: reference.h), tolerance: 1e-12, "\(kind)")
                if kind == .lstm {
                    assertClose(layer.finalState!.cell!, Tensor(shape: [N, H], scalars: reference.c), tolerance: 1e-12, "\(kind)")
                }
            }
        }
    }

    /// The Float layers (with their polynomial sigmoid and rational tanh) against the Double ones, both ways.
    func testFloatLayersMatchDoubleReference() {
        var rng = Random(seed: testSeed())
        for kind in Kind.allCases {
            let double = make(kind, 6, 16, using: &rng)
            let float: any RecurrentLayer<Float>
            switch kind {
            case .rnn: float = RNN<Float>(6, 16)
            case .lstm: float = LSTM<Float>(6, 16)
            case .gru: float = GRU<Float>(6, 16)
            }
            for (p, q) in zip(float.parameters, double.parameters) {
                p.value = Tensor(shape: q.value.shape, scalars: q.value.scalars.map(Float.init))
            }
            func toFloat(_ t: Tensor<Double>) -> Tensor<Float> { Tensor(shape: t.shape, scalars: t.scalars.map(Float.init)) }
            func toDouble(_ t: Tensor<Float>) -> Tensor<Double> { Tensor(shape: t.shape, scalars: t.scalars.map(Double.init)) }
            let x = Tensor<Double>.normal([10, 4, 6], std: 2, using: &rng)
            let g = Tensor<Double>.normal([10, 4, 16], using: &rng)
            let y = float.fprop(toFloat(x))
            assertClose(toDouble(y), double.fprop(x), tolerance: 1e-5, "\(kind)")
            // and backwards: the input gradient and every parameter's gradient
            assertClose(toDouble(float.backward(toFloat(x), toFloat(g))), double.backward(x, g), tolerance: 1e-4, "\(kind) bprop")
            for (p, q) in zip(float.parameters, double.parameters) {
                assertClose(toDouble(p.grad), q.grad, tolerance: 1e-4 * max(1, q.grad.maxAbs()), "\(kind) grad")
            }
        }
    }

    /// Big steps run their kernels on blocks of rows over several threads: same result as one thread.
    func testThreadedStepsMatchOneThread() {
        var rng = Random(seed: testSeed())
        let saved = Threads.count
        defer { Threads.count = saved }
        for kind in Kind.allCases {
            let layer = make(kind, 8, 512, using: &rng) // N·H = 64K: the step kernels split
            let x = Tensor<Double>.normal([2, 128, 8], using: &rng), g = Tensor<Double>.normal([2, 128, 512], using: &rng)
            var results: [[Tensor<Double>]] = []
            for threads in [1, 3] {
                Threads.count = threads
                layer.zeroGrad()
                let y = layer.fprop(x)
                results.append([y, layer.backward(x, g)] + layer.parameters.map(\.grad))
            }
            // (OpenBLAS may split its sums differently on several threads: equal up to rounding)
            for (a, b) in zip(results[0], results[1]) { assertClose(a, b, tolerance: 1e-12, "\(kind)") }
        }
    }

    func testFloatSigmoidAndTanhAccuracy() {
        var worstSigmoid = 0.0, worstTanh = 0.0
        var x = -30.0
        while x <= 30 {
            let f = Float(x), d = Double(f)
            worstSigmoid = max(worstSigmoid, abs(Double(Float.cellSigmoid(f)) - 1 / (1 + exp(-d))))
            let t = tanh(d)
            worstTanh = max(worstTanh, abs(Double(Float.cellTanh(f)) - t) / max(abs(t), 1e-30))
            x += 0.00137
        }
        XCTAssertLessThan(worstSigmoid, 2e-7, "absolute error of Float.cellSigmoid")
        XCTAssertLessThan(worstTanh, 5e-7, "relative error of Float.cellTanh")
        for big: Float in [100, 1e10, .greatestFiniteMagnitude, .infinity] {
            XCTAssertEqual(Float.cellSigmoid(big), 1)
            XCTAssertEqual(Float.cellSigmoid(-big), 0, accuracy: 1e-37)
            XCTAssertEqual(Float.cellTanh(big), 1)
            XCTAssertEqual(Float.cellTanh(-big), -1)
        }
        XCTAssertEqual(Float.cellTanh(1e-20), 1e-20)
        XCTAssertTrue(Float.cellSigmoid(.nan).isNaN && Float.cellTanh(.nan).isNaN, "NaN propagates")
    }

    // MARK: parameters and shapes

    func testParameterNamesLayoutsAndInitialisation() {
        var rng = Random(seed: testSeed())
        for (kind, gates) in [(Kind.rnn, 1), (.lstm, 4), (.gru, 3)] {
            let layer = make(kind, I, 64, using: &rng)
            let named = layer.namedParameters
            XCTAssertEqual(named.map(\.name), ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"])
            XCTAssertEqual(named.map(\.parameter.value.shape), [[gates * 64, I], [gates * 64, 64], [gates * 64], [gates * 64]])
            XCTAssertEqual(named.map(\.parameter.decays), [true, true, false, false])
            let all = named.flatMap(\.parameter.value.scalars)
            let bound = 1 / 8.0
            XCTAssertLessThanOrEqual(all.map(abs).max()!, bound, "\(kind): uniform in ±1/√H")
            XCTAssertGreaterThan(all.map(abs).max()!, 0.9 * bound, "\(kind): spread over ±1/√H")
            XCTAssertThrowsError(try layer.outputShape(for: [T, N, I + 1]))
            XCTAssertThrowsError(try layer.outputShape(for: [N, I]))
            XCTAssertEqual(try layer.outputShape(for: [T, N, I]), [T, N, 64])
        }
        let model = Sequential<Float> {
            LSTM<Float>(3, 8); LastStep<Float>(); Linear<Float>(8, 2)
        }
        XCTAssertThrowsError(try model.outputShape(for: [5, 2, 4])) { error in
            XCTAssertTrue("\(error)".contains("LSTM(3 -> 8)"), "\(error)")
        }
    }
}
