// GenerativeScores: the inception score and class shares on predictions whose answer is
// known, and the Fréchet distance against closed forms (diagonal, commuting, 2×2).
import Backprop
import Foundation
import XCTest

final class GenerativeScoresTests: XCTestCase {
    /// A random rotation [d, d] (the eigenvectors of a random symmetric matrix, as rows).
    func randomRotation(_ d: Int, using rng: inout Random) -> Tensor<Double> {
        let a = Tensor<Double>.normal([d, d], using: &rng)
        return (a + a.transposed()).symmetricEigen().vectors!
    }

    /// Qᵀ diag(values) Q.
    func rotated(_ values: [Double], by q: Tensor<Double>) -> Tensor<Double> {
        let d = values.count
        var scaled = q
        for i in 0..<d { for j in 0..<d { scaled[i, j] *= values[i] } }
        let m = Tensor.matmul(q, scaled, transposeA: true)
        return (m + m.transposed()) * 0.5
    }

    func diagonal(_ values: [Double]) -> Tensor<Double> {
        let d = values.count
        return Tensor(shape: [d, d]) { p in
            Double.fill(p, 0, d * d); for i in 0..<d { p[i * (d + 1)] = values[i] }
        }
    }

    func testUniformPredictionsScoreOne() {
        var rng = Random(seed: testSeed())
        var scores = GenerativeScores(classes: 10, features: 3)
        // equal logits in every row (a different constant per row): p(y|x) uniform
        let offsets = Tensor<Double>.normal([50, 1], using: &rng).scalars
        let logits = Tensor<Double>(shape: [50, 10], scalars: offsets.flatMap { Array(repeating: $0, count: 10) })
        scores.add(logits: logits, features: .normal([50, 3], using: &rng))
        XCTAssertEqual(scores.inceptionScore, 1, accuracy: 1e-12)
        // the same confident prediction for every image: also 1 (nothing is spread)
        var same = GenerativeScores(classes: 10, features: 3)
        let row = Tensor<Double>.normal([10], using: &rng).scalars.map { $0 * 5 }
        same.add(
            logits: Tensor(shape: [20, 10], scalars: Array((0..<20).map { _ in row }.joined())),
            features: .normal([20, 3], using: &rng))
        XCTAssertEqual(same.inceptionScore, 1, accuracy: 1e-12)
    }

    func testConfidentBalancedPredictionsScoreTheClassCount() {
        var rng = Random(seed: testSeed())
        for k in [1, 2, 4, 10] {
            var scores = GenerativeScores(classes: 10, features: 2)
            // image i is class i mod k with a logit 60 above the others: p is one-hot to 1e-26
            for _ in 0..<3 { // in three batches: the sums accumulate
                var logits = Tensor<Double>.zeros([10 * k, 10])
                for i in 0..<(10 * k) { logits[i, i % k] = 60 }
                scores.add(logits: logits, features: .normal([10 * k, 2], using: &rng))
            }
            XCTAssertEqual(scores.inceptionScore, Double(k), accuracy: 1e-9, "k = \(k)")
            XCTAssertEqual(scores.count, 30 * k)
            for y in 0..<10 { XCTAssertEqual(scores.classShares[y], y < k ? 1 / Double(k) : 0, accuracy: 1e-15, "k = \(k), class \(y)") }
        }
    }

    func testInceptionScoreMatchesTheDefinition() {
        var rng = Random(seed: testSeed())
        let (n, k) = (40, 5)
        let logits = Tensor<Double>.normal([n, k], using: &rng) * 3
        // the definition, term by term: p(y|x) by softmax, p(y) its mean, exp(mean KL)
        let p = (0..<n).map { r -> [Double] in
            let e = (0..<k).map { exp(logits[r, $0]) }
            return e.map { $0 / e.reduce(0, +) }
        }
        let marginal = (0..<k).map { y in p.map { $0[y] }.reduce(0, +) / Double(n) }
        let meanKL = p.map { row in (0..<k).map { row[$0] * log(row[$0] / marginal[$0]) }.reduce(0, +) }.reduce(0, +) / Double(n)
        var scores = GenerativeScores(classes: k, features: 1)
        scores.add(logits: logits[rows: 0..<15], features: .zeros([15, 1]))
        scores.add(logits: logits[rows: 15..<n], features: .zeros([n - 15, 1]))
        XCTAssertEqual(scores.inceptionScore, exp(meanKL), accuracy: 1e-12 * exp(meanKL))
        for y in 0..<k { XCTAssertEqual(scores.meanPrediction[y], marginal[y], accuracy: 1e-14) }
        // shares: the argmax of each row
        let argmax = logits.argmax()
        for y in 0..<k { XCTAssertEqual(scores.predictedCounts[y], argmax.filter { $0 == y }.count) }
        // large logits cannot overflow the softmax
        var large = GenerativeScores(classes: 2, features: 1)
        large.add(logits: Tensor<Double>(rows: [[1000, 0], [0, 1000]]), features: .zeros([2, 1]))
        XCTAssertEqual(large.inceptionScore, 2, accuracy: 1e-12)
    }

    func testFeatureStatisticsAreTheSampleMeanAndCovariance() {
        var rng = Random(seed: testSeed())
        let (n, d) = (30, 4)
        let f = Tensor<Double>.normal([n, d], using: &rng) * 2 + 1
        var scores = GenerativeScores(classes: 3, features: d)
        scores.add(logits: .zeros([10, 3]), features: f[rows: 0..<10])
        scores.add(logits: .zeros([20, 3]), features: f[rows: 10..<n])
        let mean = f.mean(alongAxis: 0)
        assertClose(scores.featureMean, mean, tolerance: 1e-12)
        // two-pass unbiased covariance
        let centered = f.addingRowVector(-mean)
        assertClose(scores.featureCovariance, Tensor.matmul(centered, centered, transposeA: true) / Double(n - 1), tolerance: 1e-11)
    }

    func testFrechetDistanceOfIdenticalSetsIsZero() {
        var rng = Random(seed: testSeed())
        let f = Tensor<Double>.normal([200, 6], using: &rng) * 3
        var a = GenerativeScores(classes: 2, features: 6), b = GenerativeScores(classes: 2, features: 6)
        a.add(logits: .zeros([200, 2]), features: f)
        b.add(logits: .zeros([100, 2]), features: f[rows: 0..<100])
        b.add(logits: .zeros([100, 2]), features: f[rows: 100..<200])
        XCTAssertEqual(a.frechetDistance(to: b), 0, accuracy: 1e-9)
        XCTAssertEqual(a.frechetDistance(to: a), 0, accuracy: 1e-9)
        // a shift by c moves only the mean: d² = ‖c‖²
        var shifted = GenerativeScores(classes: 2, features: 6)
        let c = Tensor<Double>([1, -2, 0.5, 0, 3, -1])
        shifted.add(logits: .zeros([200, 2]), features: f.addingRowVector(c))
        XCTAssertEqual(a.frechetDistance(to: shifted), c.sumOfSquares(), accuracy: 1e-8)
    }

    func testFrechetDistanceOfDiagonalGaussiansIsTheClosedForm() {
        var rng = Random(seed: testSeed())
        let d = 7
        let a = (0..<d).map { _ in Double.random(in: 0.1...4, using: &rng) }
        let b = (0..<d).map { _ in Double.random(in: 0.1...4, using: &rng) }
        let m1 = Tensor<Double>.normal([d], using: &rng), m2 = Tensor<Double>.normal([d], using: &rng)
        // ‖μ₁ − μ₂‖² + Σ (√aᵢ − √bᵢ)²
        let expected = (m1 - m2).sumOfSquares() + zip(a, b).map { pow($0.squareRoot() - $1.squareRoot(), 2) }.reduce(0, +)
        let got = frechetDistance(mean1: m1, covariance1: diagonal(a), mean2: m2, covariance2: diagonal(b))
        XCTAssertEqual(got, expected, accuracy: 1e-10 * max(1, expected))
        // the same spectra in a common random basis (commuting, not diagonal): the same distance
        let q = randomRotation(d, using: &rng)
        let rotatedDistance = frechetDistance(mean1: m1, covariance1: rotated(a, by: q), mean2: m2, covariance2: rotated(b, by: q))
        XCTAssertEqual(rotatedDistance, expected, accuracy: 1e-9 * max(1, expected))
        // a singular covariance (rank-deficient, as features of dead units): still finite and right
        var singular = a; singular[0] = 0; singular[3] = 0
        let expectedSingular = (m1 - m2).sumOfSquares() + zip(singular, b).map { pow($0.squareRoot() - $1.squareRoot(), 2) }.reduce(0, +)
        XCTAssertEqual(
            frechetDistance(mean1: m1, covariance1: rotated(singular, by: q), mean2: m2, covariance2: rotated(b, by: q)),
            expectedSingular, accuracy: 1e-6 * max(1, expectedSingular))
    }

    func testFrechetDistanceOfNonCommuting2x2Covariances() {
        // For 2×2 positive definite Σ₁, Σ₂ the eigenvalues λ₁, λ₂ of Σ₁Σ₂ give
        // (√λ₁ + √λ₂)² = Tr(Σ₁Σ₂) + 2 √(det Σ₁ det Σ₂), an independent closed form.
        var rng = Random(seed: testSeed())
        for _ in 0..<5 {
            let x = Tensor<Double>.normal([2, 2], using: &rng), y = Tensor<Double>.normal([2, 2], using: &rng)
            let s1 = Tensor.matmul(x, x, transposeB: true) + diagonal([0.1, 0.1])
            let s2 = Tensor.matmul(y, y, transposeB: true) + diagonal([0.1, 0.1])
            let det = { (m: Tensor<Double>) in m[0, 0] * m[1, 1] - m[0, 1] * m[1, 0] }
            let product = Tensor.matmul(s1, s2)
            let traceOfRoot = (product[0, 0] + product[1, 1] + 2 * (det(s1) * det(s2)).squareRoot()).squareRoot()
            let m1 = Tensor<Double>.normal([2], using: &rng), m2 = Tensor<Double>.normal([2], using: &rng)
            let expected = (m1 - m2).sumOfSquares() + s1[0, 0] + s1[1, 1] + s2[0, 0] + s2[1, 1] - 2 * traceOfRoot
            XCTAssertEqual(frechetDistance(mean1: m1, covariance1: s1, mean2: m2, covariance2: s2), expected, accuracy: 1e-10)
            // symmetric in its two arguments
            XCTAssertEqual(frechetDistance(mean1: m2, covariance1: s2, mean2: m1, covariance2: s1), expected, accuracy: 1e-10)
        }
    }

    func testClassifierFeaturesAreTheChosenLayersOutput() {
        var rng = Random(seed: testSeed())
        Random.global = Random(seed: 5)
        let model = Sequential<Double> {
            Linear<Double>(6, 5); ReLU<Double>()
            Dropout<Double>(0.5)
            Linear<Double>(5, 3)
        }
        let x = Tensor<Double>.normal([8, 6], using: &rng)
        let (features, logits) = GenerativeScores.featuresAndLogits(model, featureLayer: 1, x)
        XCTAssertTrue(model.isTraining, "the mode is restored")
        model.isTraining = false
        let hidden = ReLU<Double>().fprop(model.layers[0].fprop(x))
        assertClose(features, hidden, tolerance: 0)
        assertClose(logits, model.fprop(x), tolerance: 0, "evaluation mode: dropout is off")
        var scores = GenerativeScores(classes: 3, features: 5)
        scores.add(classifier: model, featureLayer: 1, images: x)
        assertClose(scores.featureMean, hidden.mean(alongAxis: 0), tolerance: 1e-14)
        XCTAssertFalse(model.isTraining, "the mode is restored (evaluation)")
    }
}
