import Backprop
import XCTest

/// Residual, Concat, Parallel, Sum and Identity: gradients against finite differences
/// (nested, with a shared parameter), one pass of each child's work in `backward`, shape
/// errors naming the container and the branch, names and training mode from the children.
final class BranchingContainerTests: XCTestCase {
    /// The identity with a parameter, counting each verb's calls.
    final class Counter: ShapePreserving {
        typealias Scalar = Double
        var fprops = 0, grads = 0, bprops = 0
        let weight = Parameter(Tensor<Double>.zeros([1]))
        var namedParameters: [(name: String, parameter: Parameter<Double>)] { [("weight", weight)] }
        func fprop(_ x: Tensor<Double>) -> Tensor<Double> { fprops += 1; return x }
        func bprop(_ x: Tensor<Double>, _ g: Tensor<Double>) -> Tensor<Double> { bprops += 1; return g }
        func grad(_ x: Tensor<Double>, _ g: Tensor<Double>) { grads += 1 }
    }

    override func setUp() { Random.global = Random(seed: testSeed()) }

    func testResidual() {
        let body = Sequential<Double> {
            Linear(5, 5); Tanh(); Linear(5, 5)
        }
        let block = Residual(body: body)
        let x = Tensor<Double>.normal([3, 5])
        let expected = x + body.fprop(x)
        assertClose(block.fprop(x), expected, tolerance: 1e-12, "y = x + f(x)")
        assertGradientsMatch(block, input: x)
        let projected = Residual<Double>(shortcut: Linear(5, 4)) {
            Linear(5, 4); Tanh()
        }
        XCTAssertEqual(try projected.outputShape(for: [3, 5]), [3, 4])
        assertGradientsMatch(projected, input: x)
        XCTAssertEqual(
            projected.namedParameters.map(\.name),
            ["body.0.weight", "body.0.bias", "shortcut.weight", "shortcut.bias"])
    }

    func testConvolutionalResidualWithAStridedProjection() {
        let block = Residual<Double>(shortcut: Conv2D(2, 3, kernelSize: 1, stride: 2)) {
            Conv2D(2, 3, kernelSize: 3, stride: 2, padding: 1); Tanh()
            Conv2D(3, 3, kernelSize: 3, padding: 1)
        }
        XCTAssertEqual(try block.outputShape(for: [2, 2, 5, 5]), [2, 3, 3, 3])
        assertGradientsMatch(block, input: .normal([2, 2, 5, 5]))
    }

    func testConcat() {
        let concat = Concat<Double>(axis: 1) {
            Linear(4, 3)
            Sequential {
                Linear(4, 2); Tanh()
            }
            Identity()
        }
        let x = Tensor<Double>.normal([3, 4])
        let y = concat.fprop(x)
        XCTAssertEqual(y.shape, [3, 9])
        assertClose(y.slice(5..<9, along: 1), x, tolerance: 0, "the Identity branch's columns")
        assertGradientsMatch(concat, input: x)
        XCTAssertEqual(
            concat.namedParameters.map(\.name),
            ["branches.0.weight", "branches.0.bias", "branches.1.0.weight", "branches.1.0.bias"])

        let channels = Concat<Double>(axis: 1) {
            Conv2D(3, 2, kernelSize: 1)
            Sequential {
                Conv2D(3, 2, kernelSize: 1); Tanh(); Conv2D(2, 1, kernelSize: 3, padding: 1)
            }
        }
        XCTAssertEqual(try channels.outputShape(for: [2, 3, 4, 5]), [2, 3, 4, 5])
        assertGradientsMatch(channels, input: .normal([2, 3, 4, 5]))

        let lastAxis = Concat<Double>(axis: -1) {
            Linear(4, 3); Linear(4, 1)
        } // [T, N, 4] → [T, N, 4]
        XCTAssertEqual(try lastAxis.outputShape(for: [2, 3, 4]), [2, 3, 4])
        assertGradientsMatch(lastAxis, input: .normal([2, 3, 4]))
        let firstAxis = Concat<Double>(axis: 0) {
            Linear(4, 2); Tanh()
        } // [N, 4] → [N + N, ...] needs equal widths
        XCTAssertThrowsError(try firstAxis.outputShape(for: [3, 4]))
    }

    func testParallel() {
        let a = Linear<Double>(3, 2),
            b = Sequential<Double> {
                Linear(3, 4); Tanh()
            }
        let parallel = Parallel<Double>(axis: 1) {
            a; b
        }
        let x = Tensor<Double>.normal([5, 6])
        let y = parallel.fprop(x)
        let pieces = x.split(sizes: [3, 3], along: 1)
        assertClose(y, .concatenated([a.fprop(pieces[0]), b.fprop(pieces[1])], along: 1), tolerance: 1e-12)
        _ = parallel.fprop(x)
        assertGradientsMatch(parallel, input: x)

        let uneven = Parallel<Double>(axis: -1, sizes: [2, 4]) {
            Linear(2, 3); Linear(4, 1)
        }
        XCTAssertEqual(try uneven.outputShape(for: [2, 3, 6]), [2, 3, 4])
        assertGradientsMatch(uneven, input: .normal([2, 3, 6]))
        XCTAssertEqual(uneven.namedParameters.map(\.name).first, "branches.0.weight")
    }

    func testSumWithAParameterSharedByTwoBranches() {
        let shared = Linear<Double>(4, 3)
        let sum = Sum<Double> {
            shared;
            Sequential {
                Tanh(); shared
            }; Linear(4, 3)
        }
        let x = Tensor<Double>.normal([3, 4]), g = Tensor<Double>.normal([3, 3])
        assertGradientsMatch(sum, input: x, gradOutput: g)

        // the shared weight's gradient is the sum of its two uses: gᵀx + gᵀtanh(x)
        let tanhX = Tanh<Double>().fprop(x)
        _ = sum.fprop(x)
        sum.zeroGrad()
        sum.grad(x, g)
        assertClose(
            shared.weight.grad, Tensor.matmul(g, x, transposeA: true) + Tensor.matmul(g, tanhX, transposeA: true),
            tolerance: 1e-12, "both contributions")
        XCTAssertEqual(sum.parameters.count, 4, "the shared parameters count once")
    }

    func testNestedContainers() {
        let model = Sequential<Double> {
            Linear(4, 6)
            Concat(axis: 1) {
                Residual {
                    Linear(6, 6); Tanh()
                }
                Sum {
                    Linear(6, 3);
                    Sequential {
                        Tanh(); Linear(6, 3)
                    }
                }
                Parallel(axis: 1) {
                    Linear(3, 2); Tanh()
                }
            }
            Tanh(); Linear(14, 2)
        }
        XCTAssertEqual(try model.outputShape(for: [3, 4]), [3, 2])
        assertGradientsMatch(model, input: .normal([3, 4]))
        XCTAssertEqual(
            model.namedParameters.map(\.name),
            [
                "0.weight", "0.bias",
                "1.branches.0.body.0.weight", "1.branches.0.body.0.bias",
                "1.branches.1.branches.0.weight", "1.branches.1.branches.0.bias",
                "1.branches.1.branches.1.1.weight", "1.branches.1.branches.1.1.bias",
                "1.branches.2.branches.0.weight", "1.branches.2.branches.0.bias",
                "3.weight", "3.bias"
            ])
        XCTAssertTrue(model.description.contains("(2): Concat(axis: 1) {\n    (branches.0): Residual {"), model.description)
    }

    func testBackwardRunsEachChildsWorkOnce() {
        // two-module chains in the branches: grad then bprop would run the last one's bprop twice
        let c = (0..<8).map { _ in Counter() }
        let model = Sequential<Double> {
            Concat(axis: 1) {
                Residual(shortcut: c[0]) {
                    c[1]; c[6]
                }
                Sum {
                    c[2];
                    Sequential {
                        c[3]; c[7]
                    }
                }
                Parallel(axis: 1) {
                    c[4]; c[5]
                }
            }
        }
        let x = Tensor<Double>.normal([2, 4])
        let y = model.fprop(x)
        XCTAssertEqual(y.shape, [2, 12])
        XCTAssertEqual(c.map(\.fprops), Array(repeating: 1, count: 8))
        let gx = model.backward(x, .ones([2, 12]))
        XCTAssertEqual(c.map(\.grads), Array(repeating: 1, count: 8), "backward: each child's grad once")
        XCTAssertEqual(c.map(\.bprops), Array(repeating: 1, count: 8), "backward: each child's bprop once")
        // ∂L/∂x: 2 (Residual) + 2 (Sum) + 1 (Parallel: each column to one branch)
        assertClose(gx, Tensor(repeating: 5, shape: [2, 4]), tolerance: 0)

        _ = model.fprop(x)
        model.grad(x, .ones([2, 12]))
        XCTAssertEqual(c.map(\.grads), Array(repeating: 2, count: 8), "grad: each child's grad once")
        XCTAssertEqual(
            c.map(\.bprops), [1, 1, 1, 1, 1, 1, 2, 2],
            "grad: no bprop except where a module before has parameters (c[6] after c[1], c[7] after c[3])")

        _ = model.bprop(x, .ones([2, 12]))
        XCTAssertEqual(c.map(\.grads), Array(repeating: 2, count: 8), "bprop: no grad")
        XCTAssertEqual(c.map(\.bprops), [2, 2, 2, 2, 2, 2, 3, 3], "bprop: each child's bprop once")
    }

    func testShapeErrorsNameTheContainerTheBranchAndTheShapes() {
        func message(_ layer: any Layer<Double>, _ shape: [Int]) -> String {
            do { _ = try layer.outputShape(for: shape); return "no error" } catch { return "\(error)" }
        }
        let residual = message(Residual<Double> { Linear(4, 3) }, [2, 4])
        XCTAssertTrue(residual.contains("Residual") && residual.contains("[2, 3]") && residual.contains("[2, 4]"), residual)
        let projected = message(Residual<Double>(shortcut: Linear(4, 2)) { Linear(4, 3) }, [2, 4])
        XCTAssertTrue(projected.contains("shortcut") && projected.contains("[2, 2]") && projected.contains("[2, 3]"), projected)
        let bodyFails = message(Residual<Double> { Linear(5, 5) }, [2, 4])
        XCTAssertTrue(bodyFails.hasPrefix("Residual: the body cannot take input of shape [2, 4]"), bodyFails)

        let outside = message(
            Concat<Double>(axis: 0) {
                Linear(4, 3); Linear(4, 2)
            }, [2, 4])
        XCTAssertTrue(outside.hasPrefix("Concat(axis: 0): branch 1") && outside.contains("[2, 2]") && outside.contains("[2, 3]"), outside)
        let cannot = message(
            Sequential<Double> {
                Concat(axis: 1) {
                    Linear(4, 3); Linear(5, 3)
                }
            }, [2, 4])
        XCTAssertTrue(
            cannot.contains("Sequential: module (1)")
                && cannot.contains("Concat(axis: 1): branch 1 (Linear(5 -> 3)) cannot take input of shape [2, 4]"), cannot)
        let badAxis = message(Concat<Double>(axis: 2) { Linear(4, 3) }, [2, 4])
        XCTAssertTrue(badAxis.contains("axis 2 is out of range"), badAxis)

        let unequal = message(
            Parallel<Double>(axis: 1) {
                Linear(2, 3); Linear(2, 3)
            }, [2, 5])
        XCTAssertTrue(unequal.contains("Parallel(axis: 1)") && unequal.contains("[2, 5]") && unequal.contains("2 branches"), unequal)
        let sizes = message(
            Parallel<Double>(axis: 1, sizes: [1, 3]) {
                Linear(1, 3); Linear(3, 3)
            }, [2, 5])
        XCTAssertTrue(sizes.contains("sizes [1, 3] sum to 4"), sizes)
        let branch = message(
            Parallel<Double>(axis: 1) {
                Linear(2, 3); Linear(3, 3)
            }, [2, 4])
        XCTAssertTrue(branch.contains("branch 1 (Linear(3 -> 3)) cannot take input of shape [2, 2]"), branch)

        let sum = message(
            Sum<Double> {
                Linear(4, 3); Linear(4, 2)
            }, [2, 4])
        XCTAssertTrue(sum.hasPrefix("Sum: branch 1 gives output [2, 2] but branch 0 gives [2, 3]"), sum)
    }

    func testTrainingModeReachesADropoutInsideABranch() {
        let inConcat = Dropout<Double>(0.5), inResidual = Dropout<Double>(0.5), inParallel = Dropout<Double>(0.5)
        let model = Sequential<Double> {
            Concat(axis: 1) {
                Linear(4, 4); Sequential { inConcat }
            }
            Sum {
                Residual { inResidual }; Identity()
            }
            Parallel(axis: 1) {
                inParallel; Identity()
            }
        }
        model.isTraining = false
        XCTAssertEqual([inConcat.isTraining, inResidual.isTraining, inParallel.isTraining], [false, false, false])
        let x = Tensor<Double>.ones([3, 4])
        XCTAssertEqual(model.fprop(x), model.fprop(x), "no dropout noise in evaluation")
        model.isTraining = true
        XCTAssertEqual([inConcat.isTraining, inResidual.isTraining, inParallel.isTraining], [true, true, true])
    }

    /// The README's "Networks that are not chains" samples.
    func testReadmeSamples() {
        let block = Residual<Float>(shortcut: Linear(16, 32)) {
            Linear(16, 32); ReLU()
            Linear(32, 32)
        }
        let inception = Concat<Float>(axis: 1) { // NCHW: channels are axis 1
            Conv2D(16, 8, kernelSize: 1)
            Sequential {
                Conv2D(16, 4, kernelSize: 1); ReLU(); Conv2D(4, 8, kernelSize: 3, padding: 1)
            }
            Sequential {
                MaxPool2D(3, stride: 1, padding: 1); Conv2D(16, 4, kernelSize: 1)
            }
        }
        XCTAssertEqual(try block.outputShape(for: [8, 16]), [8, 32])
        XCTAssertEqual(try inception.outputShape(for: [2, 16, 7, 7]), [2, 20, 7, 7])
        XCTAssertEqual(
            block.namedParameters.map(\.name),
            [
                "body.0.weight", "body.0.bias", "body.2.weight", "body.2.bias",
                "shortcut.weight", "shortcut.bias"
            ])
        XCTAssertEqual(inception.namedParameters.map(\.name)[4], "branches.1.2.weight")
    }
}
