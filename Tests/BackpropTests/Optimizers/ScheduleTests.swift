import Backprop
import Foundation
import XCTest

/// Learning-rate schedules by value: against their formulas and against
/// torch.optim.lr_scheduler's rates (fixtures schedule_*, made by
/// Scripts/make-reference-fixtures.py), driven by the optimizer's own step count; and
/// reduce-on-plateau's state through a checkpoint.
final class ScheduleTests: XCTestCase {
    /// A one-parameter SGD with gradient 1: each step moves w by exactly −rate.
    func probe(_ schedule: LearningRateSchedule, learningRate: Double = 0.1, stepsPerEpoch: Int? = nil) -> (SGD<Double>, Parameter<Double>)
    {
        let p = Parameter(Tensor<Double>([0]))
        p.grad = Tensor([1])
        let sgd = SGD([p], learningRate: learningRate, schedule: schedule)
        sgd.stepsPerEpoch = stepsPerEpoch
        return (sgd, p)
    }

    /// The rates `steps` calls of `step()` use: `nextLearningRate` before each step,
    /// checked against the parameter's move.
    func ratesUsed(_ sgd: SGD<Double>, _ p: Parameter<Double>, steps: Int, file: StaticString = #filePath, line: UInt = #line) -> [Double] {
        (0..<steps).map { _ in
            let before = p.value.scalars[0], announced = sgd.nextLearningRate
            sgd.step()
            let used = before - p.value.scalars[0]
            XCTAssertEqual(used, announced, accuracy: 1e-15 * max(1, abs(before)), "step() uses nextLearningRate", file: file, line: line)
            return announced
        }
    }

    func assertRates(_ ours: [Double], _ name: String, tolerance: Double = 1e-12, file: StaticString = #filePath, line: UInt = #line) throws
    {
        let reference = try Reference<Double>(name)
        let torch = try reference.tensor("rates").scalars
        XCTAssertEqual(ours.count, torch.count, "\(name): number of rates", file: file, line: line)
        for (k, (a, e)) in zip(ours, torch).enumerated() {
            XCTAssertEqual(
                a, e, accuracy: tolerance * abs(e) + 1e-15, "\(name): rate \(k): ours \(a), PyTorch \(e)", file: file, line: line)
        }
    }

    // MARK: per step

    func testWarmupCosineFormula() {
        let s = LearningRateSchedule.warmupCosine(warmup: 4, total: 14, minimum: 0.01)
        XCTAssertEqual(s.rate(base: 1, step: 0, stepsPerEpoch: nil), 0.25, "first step: base / warmup")
        XCTAssertEqual(s.rate(base: 1, step: 2, stepsPerEpoch: nil), 0.75)
        XCTAssertEqual(s.rate(base: 1, step: 3, stepsPerEpoch: nil), 1, "the last warm-up step runs at the base rate")
        XCTAssertEqual(s.rate(base: 1, step: 4, stepsPerEpoch: nil), 1, "the cosine starts at the base rate")
        XCTAssertEqual(s.rate(base: 1, step: 9, stepsPerEpoch: nil), (1 + 0.01) / 2, accuracy: 1e-15, "half-way: the mean")
        XCTAssertEqual(s.rate(base: 1, step: 14, stepsPerEpoch: nil), 0.01, accuracy: 1e-15)
        XCTAssertEqual(s.rate(base: 1, step: 1000, stepsPerEpoch: nil), 0.01, "after the end: the minimum")
    }

    func testWarmupCosineMatchesLambdaLR() throws {
        let (sgd, p) = probe(.warmupCosine(warmup: 5, total: 20, minimum: 0.001))
        try assertRates(ratesUsed(sgd, p, steps: 24), "schedule_warmup_cosine")
    }

    func testOneCycleMatchesPyTorch() throws {
        let (sgd, p) = probe(.oneCycle(total: 20, pctStart: 0.3, divFactor: 25, finalDivFactor: 1e4), learningRate: 0.1)
        try assertRates(ratesUsed(sgd, p, steps: 20), "schedule_onecycle")
        let (uneven, q) = probe(.oneCycle(total: 13, pctStart: 0.25, divFactor: 10, finalDivFactor: 100), learningRate: 0.05)
        try assertRates(ratesUsed(uneven, q, steps: 13), "schedule_onecycle_uneven")
        // the formula's ends: max_lr / div_factor first, max_lr at the peak, then the floor
        let s = LearningRateSchedule.oneCycle(total: 20)
        XCTAssertEqual(s.rate(base: 1, step: 0, stepsPerEpoch: nil), 1.0 / 25, accuracy: 1e-15)
        XCTAssertEqual(s.rate(base: 1, step: 5, stepsPerEpoch: nil), 1, accuracy: 1e-15, "peak at pct_start · total − 1")
        XCTAssertEqual(s.rate(base: 1, step: 19, stepsPerEpoch: nil), 1.0 / 25 / 1e4, accuracy: 1e-18)
        XCTAssertEqual(s.rate(base: 1, step: 50, stepsPerEpoch: nil), 1.0 / 25 / 1e4, accuracy: 1e-18, "after the end: the floor")
    }

    // MARK: per epoch, derived from the step count

    func testEpochSchedulesReadTheEpochDerivedFromTheSteps() throws {
        // 3 steps per epoch: each epoch's rate is used 3 times
        let (cosine, p) = probe(.cosine(epochs: 10, minimum: 0.001), stepsPerEpoch: 3)
        let perStep = ratesUsed(cosine, p, steps: 33)
        try assertRates(stride(from: 0, to: 33, by: 3).map { perStep[$0] }, "schedule_cosine_annealing")
        for e in 0..<11 { XCTAssertEqual(Set(perStep[(3 * e)..<(3 * e + 3)]).count, 1, "one rate through epoch \(e)") }
        XCTAssertEqual(cosine.epoch, 10)
        XCTAssertEqual(cosine.stepCount, 33)

        let (stepLR, q) = probe(.step(every: 3, gamma: 0.5), stepsPerEpoch: 2)
        let rates = ratesUsed(stepLR, q, steps: 20)
        try assertRates(stride(from: 0, to: 20, by: 2).map { rates[$0] }, "schedule_step_lr")

        let (exponential, r) = probe(.exponential(gamma: 0.8), stepsPerEpoch: 5)
        let decayed = ratesUsed(exponential, r, steps: 50)
        try assertRates(stride(from: 0, to: 50, by: 5).map { decayed[$0] }, "schedule_exponential_lr")
    }

    func testEpochIsDerived() {
        let (sgd, _) = probe(.exponential(gamma: 0.5), stepsPerEpoch: 4)
        XCTAssertEqual(sgd.epoch, 0)
        for _ in 0..<4 { sgd.step() }
        XCTAssertEqual(sgd.epoch, 0, "the latest step was the last of epoch 0")
        XCTAssertEqual(sgd.currentLearningRate, 0.1, accuracy: 1e-15)
        XCTAssertEqual(sgd.nextLearningRate, 0.05, accuracy: 1e-15)
        sgd.step()
        XCTAssertEqual(sgd.epoch, 1)
        XCTAssertEqual(sgd.currentLearningRate, 0.05, accuracy: 1e-15)
    }

    // MARK: reduce on plateau

    func plateauRates(_ plateau: ReduceOnPlateau, _ metrics: [Double]) -> [Double] {
        let (sgd, _) = probe(.constant)
        sgd.plateau = plateau
        return metrics.map {
            sgd.observe(metric: $0); return sgd.nextLearningRate
        }
    }

    func testReduceOnPlateauMatchesPyTorch() throws {
        let minMetrics = try Reference<Double>("schedule_plateau_min").tensor("metrics").scalars
        let reduced = plateauRates(
            ReduceOnPlateau(
                mode: .min, factor: 0.5, patience: 2, threshold: 0.01, thresholdMode: .relative,
                cooldown: 1, minimum: 0.01), minMetrics)
        try assertRates(reduced, "schedule_plateau_min")
        XCTAssertGreaterThan(Set(reduced).count, 2, "the metrics make the rate fall more than once")

        let maxMetrics = try Reference<Double>("schedule_plateau_max_abs").tensor("metrics").scalars
        try assertRates(
            plateauRates(
                ReduceOnPlateau(mode: .max, factor: 0.3, patience: 1, threshold: 0.02, thresholdMode: .absolute),
                maxMetrics), "schedule_plateau_max_abs")
    }

    func testPlateauMultipliesTheScheduleAndReportsReductions() {
        let (sgd, _) = probe(.warmupCosine(warmup: 2, total: 100, minimum: 0))
        sgd.plateau = ReduceOnPlateau(factor: 0.5, patience: 0)
        XCTAssertFalse(sgd.observe(metric: 1))
        XCTAssertTrue(sgd.observe(metric: 2), "worse with patience 0: reduced")
        XCTAssertEqual(
            sgd.nextLearningRate,
            0.5
                * LearningRateSchedule.warmupCosine(warmup: 2, total: 100, minimum: 0)
                .rate(base: 0.1, step: 0, stepsPerEpoch: nil), accuracy: 1e-15)
        XCTAssertEqual(sgd.plateau?.best, 1)
    }

    // MARK: checkpoints

    /// Save mid-schedule (warm-up + cosine, with a plateau that has reduced once and
    /// counts bad epochs), restore into a fresh model and optimizer, continue: the same
    /// rates and the same parameters as the run that went on.
    func testCheckpointMidScheduleResumesTheSameRatesAndWeights() throws {
        func make(_ model: Linear<Double>) -> SGD<Double> {
            let sgd = SGD(
                model.parameters, learningRate: 0.2, momentum: 0.9, schedule: .warmupCosine(warmup: 3, total: 30, minimum: 0.01),
                maxNorm: 0.9)
            sgd.plateau = ReduceOnPlateau(factor: 0.5, patience: 0, cooldown: 1)
            return sgd
        }
        func train(_ model: Linear<Double>, _ sgd: SGD<Double>, _ steps: Range<Int>) -> [Double] {
            steps.map { k in
                var rng = Random(seed: UInt64(k))
                let x = Tensor<Double>.normal([4, 3], using: &rng)
                model.zeroGrad()
                model.grad(x, Tensor<Double>.normal([4, 2], using: &rng))
                let rate = sgd.nextLearningRate
                sgd.step()
                if k % 4 == 3 { sgd.observe(metric: [1.0, 0.9, 0.95, 0.97, 0.99, 0.8, 0.85][k / 4 % 7]) } // "epochs" of 4 steps
                return rate
            }
        }
        var rng = Random(seed: 5)
        let model = Linear<Double>(3, 2, using: &rng)
        let sgd = make(model)
        _ = train(model, sgd, 0..<13)
        XCTAssertLessThan(sgd.plateau!.scale, 1, "the plateau reduced before the checkpoint")
        let file = Checkpoint.file(model: model, optimizer: sgd, state: TrainingState(epoch: 3, step: 13))
        XCTAssertEqual(file.metadata["optimizer.step"], "13")
        XCTAssertNotNil(file.metadata["optimizer.plateau.best"])
        let expectedRates = train(model, sgd, 13..<30)

        var other = Random(seed: 6)
        let resumedModel = Linear<Double>(3, 2, using: &other)
        let resumed = make(resumedModel)
        try Checkpoint.restore(model: resumedModel, optimizer: resumed, from: file)
        XCTAssertEqual(resumed.stepCount, 13)
        let rates = train(resumedModel, resumed, 13..<30)
        XCTAssertEqual(rates, expectedRates, "the same rates after resuming")
        XCTAssertEqual(resumedModel.weight.value, model.weight.value, "the same weights")
        XCTAssertEqual(resumedModel.bias!.value, model.bias!.value)
        XCTAssertEqual(resumed.plateau, sgd.plateau, "the same plateau state")
    }

    /// Checkpoints from before the step count: SGD's had no optimizer.step (the run's step
    /// count stands in), and none had the plateau's state (a fresh one is kept).
    func testOlderCheckpointsStillRestore() throws {
        var rng = Random(seed: 7)
        let model = Linear<Double>(3, 2, using: &rng)
        let sgd = SGD(model.parameters, learningRate: 0.1, momentum: 0.9)
        var file = Checkpoint.file(model: model, optimizer: sgd, state: TrainingState(epoch: 2, step: 40))
        file.metadata["optimizer.step"] = nil
        let restored = SGD(model.parameters, learningRate: 0.1, momentum: 0.9, schedule: .cosine(epochs: 5, minimum: 0))
        restored.stepsPerEpoch = 20
        restored.plateau = ReduceOnPlateau()
        try Checkpoint.restore(model: model, optimizer: restored, from: file)
        XCTAssertEqual(restored.stepCount, 40, "the run's step count")
        XCTAssertEqual(restored.epoch, 1)
        XCTAssertEqual(
            restored.nextLearningRate, LearningRateSchedule.cosine(epochs: 5, minimum: 0).rate(base: 0.1, epoch: 2), accuracy: 1e-15)
        XCTAssertEqual(restored.plateau, ReduceOnPlateau())

        // a malformed plateau entry is an error naming it, and changes nothing
        var bad = Checkpoint.file(model: model, optimizer: restored, state: TrainingState(epoch: 2, step: 40))
        bad.metadata["optimizer.plateau.scale"] = "x"
        let fresh = SGD(model.parameters, learningRate: 0.1, momentum: 0.9)
        fresh.plateau = ReduceOnPlateau()
        XCTAssertThrowsError(try Checkpoint.restore(model: model, optimizer: fresh, from: bad)) { error in
            XCTAssertTrue("\(error)".contains("plateau.scale"), "\(error)")
        }
        XCTAssertEqual(fresh.stepCount, 0)
    }
}
