@testable import Backprop
import Foundation
import XCTest

/// Greedy layer-wise pretraining of a stack of denoising autoencoders.
final class StackedAutoencoderTests: XCTestCase {
    func testGreedyPretrainingLowersEachLayersLossAndStacksTheEncoders() {
        var rng = Random(seed: testSeed())
        // data in [0, 1] with structure: sigmoids of 3 latent factors mixed into 20 values
        let mixing = Tensor<Double>.normal([3, 20], std: 2, using: &rng)
        let data = Sigmoid<Double>().fprop(Tensor.matmul(Tensor<Double>.normal([300, 3], using: &rng), mixing))
        let stack = StackedAutoencoder<Double>(sizes: [20, 12, 6], using: &rng)
        var losses: [[Double]] = [[], []]
        stack.pretrain(
            on: data, noise: 0.2, epochs: 15, batchSize: 50, seed: 3,
            makeOptimizer: { Adam($0, learningRate: 0.01) },
            report: { layer, _, loss in losses[layer].append(loss) })
        XCTAssertEqual(losses.map(\.count), [15, 15])
        for (layer, curve) in losses.enumerated() {
            XCTAssertLessThan(curve.last!, 0.9 * curve.first!, "layer \(layer) did not learn: \(curve)")
        }
        XCTAssertEqual(stack.pretrainingLosses, losses.map { $0.last! })

        let network = stack.encoderNetwork()
        XCTAssertEqual(try network.outputShape(for: [7, 20]), [7, 6])
        XCTAssertTrue(network.parameters.first === stack.encoders[0].weight, "the network uses the pretrained encoders")
        network.isTraining = false
        assertClose(network.fprop(data), stack.encode(data), tolerance: 1e-12)
    }
}
