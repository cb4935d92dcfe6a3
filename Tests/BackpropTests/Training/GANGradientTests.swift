// The generator's gradient of a GAN, passed through a fixed discriminator by its bprop,
// against finite differences of the generator loss (Double, batch norms in training mode).
@testable import Backprop
import XCTest

final class GANGradientTests: XCTestCase {
    /// A small DCGAN pair of the `gan` example's shape: z [B,3] → image [B,1,8,8] → logit [B,1].
    func smallPair() -> (generator: Sequential<Double>, discriminator: Sequential<Double>) {
        let generator = Sequential<Double> {
            Linear<Double>(3, 2 * 2 * 2); BatchNorm1d<Double>(8); ReLU<Double>()
            Reshape<Double>([2, 2, 2])
            ConvTranspose2D<Double>(2, 2, kernelSize: 4, stride: 2, padding: 1); BatchNorm2d<Double>(2); ReLU<Double>()
            ConvTranspose2D<Double>(2, 1, kernelSize: 4, stride: 2, padding: 1); Sigmoid<Double>()
        }
        let discriminator = Sequential<Double> {
            Conv2D<Double>(1, 2, kernelSize: 4, stride: 2, padding: 1); LeakyReLU<Double>(slope: 0.2)
            Conv2D<Double>(2, 3, kernelSize: 4, stride: 2, padding: 1); BatchNorm2d<Double>(3); LeakyReLU<Double>(slope: 0.2)
            Flatten<Double>()
            Linear<Double>(3 * 2 * 2, 1)
        }
        return (generator, discriminator)
    }

    func testGeneratorGradientThroughTheDiscriminatorMatchesFiniteDifferences() {
        var rng = Random(seed: testSeed())
        Random.global = Random(seed: rng.next())
        let (generator, discriminator) = smallPair()
        let z = Tensor<Double>.normal([5, 3], using: &rng)
        let ones = Tensor<Double>.ones([5, 1])
        let bce = BCEWithLogitsLoss<Double>()

        // the discriminator's parameter gradients hold something (as after its own step)
        let real = Tensor<Double>.uniform([5, 1, 8, 8], in: 0...1, using: &rng)
        discriminator.zeroGrad()
        discriminator.grad(real, bce.backward(discriminator.fprop(real), ones))
        let discriminatorGrads = discriminator.parameters.map(\.grad)
        XCTAssertTrue(discriminatorGrads.contains { $0.maxAbs() > 0 })

        // the generator's step: non-saturating loss, gradient through D's bprop, then G's grad
        generator.zeroGrad()
        let fake = generator.fprop(z)
        let logits = discriminator.fprop(fake)
        let gradFake = discriminator.bprop(fake, bce.backward(logits, ones))
        generator.grad(z, gradFake)

        // bprop left D's parameter gradients exactly as they were
        for (before, p) in zip(discriminatorGrads, discriminator.parameters) { assertClose(p.grad, before, tolerance: 0) }

        // G's gradients against central differences of L(θ_G) = BCE(D(G(z)), 1)
        let report = GradientCheck.compareAll(
            generator, input: z, gradInput: .zeros(z.shape), checkInput: false,
            epsilon: 1e-6, tolerance: .init()
        ) { z in
            bce.forward(discriminator.fprop(generator.fprop(z)), ones)
        }
        XCTAssertTrue(report.passed, "\(report)")
        XCTAssertEqual(report.entries.count, generator.distinctNamedParameters.count)
        XCTAssertGreaterThan(report.entries.map(\.compared).reduce(0, +), 50)
    }

    func testCodeGradientThroughBothNetworksMatchesFiniteDifferences() {
        // ∂L/∂z by G.bprop(D.bprop(·)): the whole chain of input gradients, none of the grads
        var rng = Random(seed: testSeed())
        Random.global = Random(seed: rng.next())
        let (generator, discriminator) = smallPair()
        let z = Tensor<Double>.normal([4, 3], using: &rng)
        let ones = Tensor<Double>.ones([4, 1])
        let bce = BCEWithLogitsLoss<Double>()
        let fake = generator.fprop(z)
        let logits = discriminator.fprop(fake)
        let gradZ = generator.bprop(z, discriminator.bprop(fake, bce.backward(logits, ones)))
        let objective = { (z: Tensor<Double>) in bce.forward(discriminator.fprop(generator.fprop(z)), ones) }
        var worst = 0.0
        var x = z
        for i in 0..<z.count {
            let saved = x.scalars[i]
            x.scalars[i] = saved + 1e-6; let plus = objective(x)
            x.scalars[i] = saved - 1e-6; let minus = objective(x)
            x.scalars[i] = saved
            worst = max(worst, abs((plus - minus) / 2e-6 - gradZ.scalars[i]))
        }
        XCTAssertLessThan(worst, 1e-6)
    }
}
