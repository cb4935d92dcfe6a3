import Backprop
import XCTest

/// Residual, Concat and Parallel against their PyTorch twins in
/// Scripts/make-reference-fixtures.py (`self.body = nn.Sequential(...)`, `self.shortcut`,
/// `self.branches = nn.ModuleList([...])`): the weights load by name, which requires every
/// parameter name to be PyTorch's, then output, input gradient and parameter gradients
/// match in Float and in Double.
final class ReferenceContainerTests: XCTestCase {
    /// body.0.weight … body.2.bias, shortcut.weight, shortcut.bias
    func testResidualBlock() throws {
        func block<S: TensorScalar>(_: S.Type) -> Residual<S> {
            Residual<S>(shortcut: Linear(5, 6)) {
                Linear(5, 6); ReLU(); Linear(6, 6)
            }
        }
        try assertLayerMatchesPyTorch("residual_block", block(Float.self), block(Double.self))
    }

    func testConvolutionalResidualBlock() throws {
        func block<S: TensorScalar>(_: S.Type) -> Residual<S> {
            Residual<S>(shortcut: Conv2D(2, 3, kernelSize: 1, stride: 2)) {
                Conv2D(2, 3, kernelSize: 3, stride: 2, padding: 1); ReLU()
                Conv2D(3, 3, kernelSize: 3, padding: 1)
            }
        }
        try assertLayerMatchesPyTorch("residual_conv_block", block(Float.self), block(Double.self))
    }

    /// branches.0.weight, branches.1.0.weight, branches.1.2.weight, branches.2.body.0.weight
    func testConcatBlock() throws {
        func block<S: TensorScalar>(_: S.Type) -> Concat<S> {
            Concat<S>(axis: 1) {
                Linear(5, 3)
                Sequential {
                    Linear(5, 4); Tanh(); Linear(4, 2)
                }
                Residual {
                    Linear(5, 5); Tanh()
                }
            }
        }
        try assertLayerMatchesPyTorch("concat_block", block(Float.self), block(Double.self))
    }

    func testInceptionBlock() throws {
        func block<S: TensorScalar>(_: S.Type) -> Concat<S> {
            Concat<S>(axis: 1) {
                Conv2D(3, 2, kernelSize: 1)
                Sequential {
                    Conv2D(3, 2, kernelSize: 1); ReLU(); Conv2D(2, 3, kernelSize: 3, padding: 1)
                }
                Sequential {
                    MaxPool2D(3, stride: 1, padding: 1); Conv2D(3, 2, kernelSize: 1)
                }
            }
        }
        try assertLayerMatchesPyTorch("inception_block", block(Float.self), block(Double.self))
    }

    func testParallelBlock() throws {
        func block<S: TensorScalar>(_: S.Type) -> Parallel<S> {
            Parallel<S>(axis: 1, sizes: [2, 3]) {
                Linear(2, 3);
                Sequential {
                    Linear(3, 2); Tanh()
                }
            }
        }
        try assertLayerMatchesPyTorch("parallel_block", block(Float.self), block(Double.self))
    }
}
