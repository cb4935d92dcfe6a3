import Backprop
import XCTest

/// BatchNorm1d, BatchNorm2d and LayerNorm: gradient checks in Double (training and
/// evaluation modes, batch > 1), the running statistics against hand-computed values,
/// the modes, shapes and errors.
final class NormalizationTests: XCTestCase {
    /// Random γ, β (so the check sees a non-trivial affine map) and, for a batch norm,
    /// non-trivial running statistics (they matter in evaluation mode).
    func randomize<L: Layer>(_ layer: L, using rng: inout Random) where L.Scalar == Double {
        for (_, p) in layer.namedParameters { p.value = .normal(p.value.shape, std: 0.8, using: &rng) }
        for (name, b) in layer.namedBuffers where name.hasSuffix("running_mean") { b.value = .normal(b.value.shape, std: 0.5, using: &rng) }
        for (name, b) in layer.namedBuffers where name.hasSuffix("running_var") {
            b.value = .uniform(b.value.shape, in: 0.5...2, using: &rng)
        }
    }

    /// Checks `layer` in training mode (the full backward through the batch statistics)
    /// and in evaluation mode (the affine map of the running statistics). The gradient
    /// check's repeated training-mode fprops move the running statistics, but the
    /// training-mode output does not depend on them, so the function being differentiated
    /// stays the same; in evaluation mode nothing moves.
    func checkBothModes<L: Layer>(_ layer: L, _ shape: [Int], using rng: inout Random, _ message: String = "") where L.Scalar == Double {
        randomize(layer, using: &rng)
        let input = Tensor<Double>.normal(shape, mean: 0.3, std: 1.5, using: &rng)
        layer.isTraining = true
        assertGradientsMatch(layer, input: input, "training \(shape) \(message)")
        layer.isTraining = false
        let runningMean = layer.namedBuffers.first { $0.name == "running_mean" }?.buffer.value
        assertGradientsMatch(layer, input: input, "evaluation \(shape) \(message)")
        XCTAssertEqual(
            layer.namedBuffers.first { $0.name == "running_mean" }?.buffer.value, runningMean,
            "evaluation mode leaves the running statistics alone")
    }

    // MARK: gradient checks

    func testBatchNorm1dGradients() {
        var rng = Random(seed: testSeed())
        checkBothModes(BatchNorm1d<Double>(4), [5, 4], using: &rng)
        checkBothModes(BatchNorm1d<Double>(3), [4, 3, 5], using: &rng, "[N, C, L]")
        checkBothModes(BatchNorm1d<Double>(3, affine: false), [6, 3], using: &rng, "no affine")
        checkBothModes(BatchNorm1d<Double>(2, momentum: nil), [3, 2, 2], using: &rng, "cumulative")
    }

    func testBatchNorm2dGradients() {
        var rng = Random(seed: testSeed())
        checkBothModes(BatchNorm2d<Double>(3), [2, 3, 5, 3], using: &rng)
        checkBothModes(BatchNorm2d<Double>(4, eps: 1e-3, affine: false), [3, 4, 3, 1], using: &rng, "no affine")
    }

    func testLayerNormGradients() {
        var rng = Random(seed: testSeed())
        for (normalized, shape) in [([6], [4, 6]), ([3, 4], [2, 3, 4]), ([5], [3, 2, 5])] {
            let layer = LayerNorm<Double>(normalizedShape: normalized)
            randomize(layer, using: &rng)
            let input = Tensor<Double>.normal(shape, mean: 0.5, std: 2, using: &rng)
            assertGradientsMatch(layer, input: input, "\(normalized) on \(shape)")
            layer.isTraining = false
            assertGradientsMatch(layer, input: input, "\(normalized) on \(shape), evaluation")
        }
        assertGradientsMatch(
            LayerNorm<Double>(normalizedShape: [4], elementwiseAffine: false),
            input: .normal([3, 4], using: &rng), "no affine")
    }

    /// backward (one pass) gives what grad then bprop give, in both modes.
    func testBackwardEqualsGradThenBprop() {
        var rng = Random(seed: testSeed())
        for training in [true, false] {
            let a = BatchNorm2d<Double>(2), b = BatchNorm2d<Double>(2)
            randomize(a, using: &rng)
            try! b.load(
                from: {
                    var f = SafeTensors(); a.addState(to: &f); return f
                }(), prefix: "")
            a.isTraining = training
            b.isTraining = training
            let x = Tensor<Double>.normal([3, 2, 2, 3], using: &rng), gy = Tensor<Double>.normal([3, 2, 2, 3], using: &rng)
            _ = a.fprop(x)
            a.grad(x, gy)
            let expected = a.bprop(x, gy)
            _ = b.fprop(x)
            let actual = b.backward(x, gy)
            XCTAssertEqual(actual, expected, "training \(training)")
            XCTAssertEqual(b.weight!.grad, a.weight!.grad)
            XCTAssertEqual(b.bias!.grad, a.bias!.grad)
        }
    }

    // MARK: the running statistics, by hand

    /// Channel 0 holds 1, 3, 5 (mean 3, biased variance 8/3, unbiased 4); channel 1 holds
    /// 2, 6, 10 (mean 6, unbiased variance 16). Momentum 0.1 from (0, 1):
    /// running_mean = 0.1 · mean, running_var = 0.9 + 0.1 · unbiased variance.
    func testRunningStatisticsWithMomentum() {
        let bn = BatchNorm1d<Double>(2)
        let x = Tensor<Double>(rows: [[1, 2], [3, 6], [5, 10]])
        let y = bn.fprop(x)
        XCTAssertEqual(bn.numBatchesTracked.value.scalars, [1])
        XCTAssertEqual(bn.runningMean.value.scalars[0], 0.3, accuracy: 1e-15)
        XCTAssertEqual(bn.runningMean.value.scalars[1], 0.6, accuracy: 1e-15)
        XCTAssertEqual(bn.runningVar.value.scalars[0], 1.3, accuracy: 1e-15)
        XCTAssertEqual(bn.runningVar.value.scalars[1], 2.5, accuracy: 1e-15)
        // the output uses the batch statistics, with the biased variance
        XCTAssertEqual(y[0, 0], (1 - 3) / (8.0 / 3 + 1e-5).squareRoot(), accuracy: 1e-14)
        XCTAssertEqual(y[2, 1], (10 - 6) / (32.0 / 3 + 1e-5).squareRoot(), accuracy: 1e-14)

        _ = bn.fprop(x) // a second step: (1 − 0.1) · 0.3 + 0.1 · 3
        XCTAssertEqual(bn.numBatchesTracked.value.scalars, [2])
        XCTAssertEqual(bn.runningMean.value.scalars[0], 0.57, accuracy: 1e-15)
        XCTAssertEqual(bn.runningVar.value.scalars[0], 0.9 * 1.3 + 0.4, accuracy: 1e-15)

        // evaluation: the running statistics, nothing updated
        bn.isTraining = false
        let z = bn.fprop(x)
        XCTAssertEqual(z[1, 0], (3 - 0.57) / (0.9 * 1.3 + 0.4 + 1e-5).squareRoot(), accuracy: 1e-14)
        XCTAssertEqual(bn.numBatchesTracked.value.scalars, [2])
        XCTAssertEqual(bn.runningMean.value.scalars[0], 0.57, accuracy: 1e-15)
    }

    /// momentum nil: the cumulative average of the batch statistics (factor 1 / count).
    func testRunningStatisticsCumulative() {
        let bn = BatchNorm1d<Double>(1, momentum: nil)
        _ = bn.fprop(Tensor(shape: [2, 1], scalars: [0, 2])) // mean 1, unbiased var 2
        XCTAssertEqual(bn.runningMean.value.scalars, [1])
        XCTAssertEqual(bn.runningVar.value.scalars, [2])
        _ = bn.fprop(Tensor(shape: [2, 1], scalars: [4, 6])) // mean 5, unbiased var 2
        XCTAssertEqual(bn.runningMean.value.scalars, [3])
        XCTAssertEqual(bn.runningVar.value.scalars, [2])
        XCTAssertEqual(bn.numBatchesTracked.value.scalars, [2])
    }

    /// BatchNorm2d's statistics run over N, H and W: channel c of [2, 2, 1, 2] holds 4 values.
    func testBatchNorm2dStatisticsOverBatchAndSpace() {
        let bn = BatchNorm2d<Double>(2, momentum: 1)
        // n0: c0 = [1, 2], c1 = [10, 20]; n1: c0 = [3, 4], c1 = [30, 40]
        _ = bn.fprop(Tensor(shape: [2, 2, 1, 2], scalars: [1, 2, 10, 20, 3, 4, 30, 40]))
        XCTAssertEqual(bn.runningMean.value.scalars, [2.5, 25])
        XCTAssertEqual(bn.runningVar.value.scalars[0], 5.0 / 3, accuracy: 1e-14) // unbiased: Σ(x − 2.5)² / 3
        XCTAssertEqual(bn.runningVar.value.scalars[1], 500.0 / 3, accuracy: 1e-12)
    }

    /// The running statistics never change the training-mode output.
    func testTrainingOutputIgnoresRunningStatistics() {
        var rng = Random(seed: testSeed())
        let bn = BatchNorm2d<Double>(3)
        let x = Tensor<Double>.normal([2, 3, 3, 3], using: &rng)
        let y = bn.fprop(x)
        bn.runningMean.value = .normal([3], using: &rng)
        bn.runningVar.value = .uniform([3], in: 0.5...3, using: &rng)
        XCTAssertEqual(bn.fprop(x), y)
    }

    func testLayerNormNormalizesEachRow() {
        let ln = LayerNorm<Double>(normalizedShape: [4])
        let y = ln.fprop(Tensor(rows: [[1, 2, 3, 4], [10, 10, 10, 14]]))
        for r in 0..<2 {
            let row = (0..<4).map { y[r, $0] }
            XCTAssertEqual(row.reduce(0, +) / 4, 0, accuracy: 1e-12)
            XCTAssertEqual(row.map { $0 * $0 }.reduce(0, +) / 4, 1, accuracy: 1e-4) // 1 − O(ε / σ²)
        }
        XCTAssertEqual(y[1, 3], 3 / (3.0 + 1e-5).squareRoot(), accuracy: 1e-12) // σ² = 3 for [10, 10, 10, 14]
    }

    // MARK: names, shapes, errors

    func testNamesAndBuffers() {
        let bn = BatchNorm2d<Float>(3)
        XCTAssertEqual(bn.namedParameters.map(\.name), ["weight", "bias"])
        XCTAssertEqual(bn.namedBuffers.map(\.name), ["running_mean", "running_var", "num_batches_tracked"])
        XCTAssertEqual(bn.weight!.value.scalars, [1, 1, 1])
        XCTAssertEqual(bn.bias!.value.scalars, [0, 0, 0])
        XCTAssertFalse(bn.bias!.decays)
        XCTAssertEqual(bn.runningVar.value.scalars, [1, 1, 1])
        XCTAssertEqual(bn.numBatchesTracked.value.shape, [])
        XCTAssertTrue(bn.numBatchesTracked.isCount)
        XCTAssertEqual(bn.parameterCount, 6, "buffers are not parameters")
        XCTAssertTrue(BatchNorm1d<Float>(3, affine: false).namedParameters.isEmpty)
        XCTAssertEqual(LayerNorm<Float>(normalizedShape: [2, 3]).namedParameters.map(\.parameter.value.shape), [[2, 3], [2, 3]])
        XCTAssertTrue(LayerNorm<Float>(normalizedShape: [2]).namedBuffers.isEmpty)
        XCTAssertEqual("\(bn)", "BatchNorm2d(3, eps: 1e-05, momentum: 0.1)")
    }

    func testShapes() throws {
        XCTAssertEqual(try BatchNorm1d<Float>(4).outputShape(for: [2, 4]), [2, 4])
        XCTAssertEqual(try BatchNorm1d<Float>(4).outputShape(for: [2, 4, 7]), [2, 4, 7])
        XCTAssertEqual(try BatchNorm2d<Float>(4).outputShape(for: [2, 4, 3, 3]), [2, 4, 3, 3])
        XCTAssertThrowsError(try BatchNorm1d<Float>(4).outputShape(for: [2, 5])) { error in
            XCTAssertTrue("\(error)".contains("BatchNorm1d(4") && "\(error)".contains("[2, 5]"), "\(error)")
        }
        XCTAssertThrowsError(try BatchNorm2d<Float>(4).outputShape(for: [2, 4, 3])) { error in
            XCTAssertTrue("\(error)".contains("[N, 4, H, W]") && "\(error)".contains("[2, 4, 3]"), "\(error)")
        }
        XCTAssertEqual(try LayerNorm<Float>(normalizedShape: [3, 4]).outputShape(for: [5, 3, 4]), [5, 3, 4])
        XCTAssertThrowsError(try LayerNorm<Float>(normalizedShape: [3, 4]).outputShape(for: [5, 4, 3])) { error in
            XCTAssertTrue("\(error)".contains("[..., 3, 4]") && "\(error)".contains("[5, 4, 3]"), "\(error)")
        }
    }

    /// Optimizers see the parameters only: a step leaves the buffers as they were.
    func testOptimizerNeverTouchesBuffers() {
        var rng = Random(seed: testSeed())
        let model = Sequential<Double> {
            Linear<Double>(3, 4, using: &rng); BatchNorm1d<Double>(4)
        }
        let x = Tensor<Double>.normal([5, 3], using: &rng)
        _ = model.fprop(x)
        let buffers = model.namedBuffers.map(\.buffer.value)
        let sgd = SGD(model.parameters, learningRate: 0.1, momentum: 0.9, weightDecay: 0.01)
        model.zeroGrad()
        _ = model.backward(x, .normal([5, 4], using: &rng))
        _ = sgd.step()
        XCTAssertEqual(model.namedBuffers.map(\.buffer.value), buffers)
        XCTAssertEqual(sgd.parameters.count, 4)
    }
}
