import Backprop

extension Workloads {
    /// The convolutional and recurrent workloads.
    static func extraWorkload(_ name: String, train: LabeledImages<Float>) -> Workload {
        switch name {
        case "resnet":
            // stem, 3 stages of 2 basic blocks (16/32/64 channels), global average pool: the peer's resnet()
            let model = Sequential<Float> {
                Conv2D<Float>(1, 16, kernelSize: 3, padding: 1, bias: false); BatchNorm2d<Float>(16); ReLU<Float>()
                basicBlock(16, 16, stride: 1); basicBlock(16, 16, stride: 1)
                basicBlock(16, 32, stride: 2); basicBlock(32, 32, stride: 1)
                basicBlock(32, 64, stride: 2); basicBlock(64, 64, stride: 1)
                AvgPool2D<Float>(7); Flatten<Float>()
                Linear<Float>(64, 10)
            }
            return classifier(model, batch: 64, train: train) { $0.reshaped([-1, 1, 28, 28]) }
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

    /// A ResNet basic block, conv3×3-BN-ReLU-conv3×3-BN plus the shortcut (a 1×1 conv + BN
    /// projection when the stride or the width changes), then ReLU:
    /// [N, cin, H, W] → [N, cout, H/stride, W/stride].
    static func basicBlock(_ cin: Int, _ cout: Int, stride: Int) -> Sequential<Float> {
        let shortcut: (any Layer<Float>)? =
            stride != 1 || cin != cout
            ? Sequential<Float> {
                Conv2D<Float>(cin, cout, kernelSize: 1, stride: stride, bias: false); BatchNorm2d<Float>(cout)
            }
            : nil
        return Sequential<Float> {
            Residual<Float>(shortcut: shortcut) {
                Conv2D<Float>(cin, cout, kernelSize: 3, stride: stride, padding: 1, bias: false); BatchNorm2d<Float>(cout); ReLU<Float>()
                Conv2D<Float>(cout, cout, kernelSize: 3, padding: 1, bias: false); BatchNorm2d<Float>(cout)
            }
            ReLU<Float>()
        }
    }
}
