import Backprop

extension Workloads {
    /// The convolutional and recurrent workloads.
    static func extraWorkload(_ name: String, train: LabeledImages<Float>) -> Workload {
        switch name {
        case "convnet":
            // [B, 784] → [B, 1, 32, 32]: MNIST zero-padded by 2, done once outside the timed loop
            let pad = Pad2D<Float>(2)
            let model = Sequential<Float> {
                Conv2D<Float>(1, 16, kernelSize: 5); ReLU<Float>(); MaxPool2D<Float>(2)
                Conv2D<Float>(16, 128, kernelSize: 5); ReLU<Float>(); MaxPool2D<Float>(2)
                Flatten<Float>()
                Linear<Float>(128 * 5 * 5, 200); ReLU<Float>()
                Linear<Float>(200, 10)
            }
            return classifier(model, batch: 64, train: train) { pad.fprop($0.reshaped([-1, 1, 28, 28])) }
        default: // "lstm": rows as time steps, [B, 784] → [28, B, 28] inside the model, as the peer does
            let model = Sequential<Float> {
                TimeMajor<Float>(steps: 28)
                LSTM<Float>(28, 128)
                LastStep<Float>()
                Linear<Float>(128, 10)
            }
            return classifier(model, batch: 64, train: train) { $0 }
        }
    }
}
