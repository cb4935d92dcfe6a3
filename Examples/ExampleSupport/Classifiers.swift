// The digit classifiers several examples share: the lecture's convolutional network (and the
// padding it needs) and the multi-layer perceptron, built the same way everywhere so that a
// model saved by one example loads in another (`mnist-convnet --save` → `adversarial --load`).
import Backprop

/// The convolutional network of the Torch7 lecture example, for `[N, channels, 32, 32]` inputs:
///
///     [N,C,32,32] conv 5×5 → [N,16,28,28] ReLU, max-pool 2 → [N,16,14,14]
///                 conv 5×5 → [N,128,10,10] ReLU, max-pool 2 → [N,128,5,5]
///                 flatten  → [N,3200] Linear → [N,200] ReLU → Linear → [N,classes]
///
/// Parameter names are PyTorch's for the same `nn.Sequential` (`0.weight`, `3.weight`, `7.weight`, `9.weight`).
public func lectureConvnet<Scalar: TensorScalar>(channels: Int = 1, classes: Int = 10) -> Sequential<Scalar> {
    Sequential<Scalar> {
        Conv2D<Scalar>(channels, 16, kernelSize: 5); ReLU<Scalar>(); MaxPool2D<Scalar>(2)
        Conv2D<Scalar>(16, 128, kernelSize: 5); ReLU<Scalar>(); MaxPool2D<Scalar>(2)
        Flatten<Scalar>()
        Linear<Scalar>(128 * 5 * 5, 200); ReLU<Scalar>()
        Linear<Scalar>(200, classes)
    }
}

/// A split of 28×28 digits with a border of 2 zeros, as the lecture's network takes 32×32
/// inputs. Done once for the data set (inside the model it would be redone at every step).
public func paddedForLectureConvnet<Scalar: TensorScalar>(_ split: LabeledImages<Scalar>) -> LabeledImages<Scalar> {
    LabeledImages(images: Pad2D<Scalar>(2).fprop(split.images), labels: split.labels, classCount: split.classCount)
}

/// A multi-layer perceptron `sizes[0] → … → sizes.last` with ReLU between the Linear layers
/// (none after the last): mnist-mlp's network for `[784, 1024, 1024, 10]`.
public func perceptron<Scalar: TensorScalar>(_ sizes: [Int]) -> Sequential<Scalar> {
    if sizes.count < 2 { fail("perceptron: needs at least an input and an output size, got \(sizes)") }
    return Sequential<Scalar> {
        for (fanIn, fanOut) in zip(sizes.dropLast(), sizes.dropFirst().dropLast()) {
            [Linear<Scalar>(fanIn, fanOut), ReLU<Scalar>()] as [any Layer<Scalar>]
        }
        Linear<Scalar>(sizes[sizes.count - 2], sizes.last!)
    }
}
