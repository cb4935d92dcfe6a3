import Backprop
import Foundation
import XCTest

// Support for the reference tests against PyTorch: fixtures made by
// Scripts/make-reference-fixtures.py, stored in Tests/BackpropTests/Reference/Fixtures as
// <case>.f32.safetensors and <case>.f64.safetensors (see the script for their contents).
//
// A new module needs one function in the script and one test:
//
//   func testConv2D() throws {
//       try assertLayerMatchesPyTorch("conv2d", Conv2D<Float>(3, 4, ...), Conv2D<Double>(3, 4, ...))
//   }

/// The fixtures folder, found from this file's path (not through SwiftPM resources).
let fixturesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path

/// One fixture in the precision of `Scalar`: Float reads `<case>.f32`, Double `<case>.f64`.
struct Reference<Scalar: TensorScalar> {
    let name: String
    let file: SafeTensors

    /// Agreement required with PyTorch: 1e-5 relative for Float, 1e-10 for Double.
    static var tolerance: Double { Scalar.self == Float.self ? 1e-5 : 1e-10 }

    init(_ name: String) throws {
        self.name = name
        let path = "\(fixturesDirectory)/\(name).\(Scalar.self == Float.self ? "f32" : "f64").safetensors"
        guard FileManager.default.fileExists(atPath: path) else {
            throw XCTSkip("no fixture \(path): run Scripts/make-reference-fixtures.py (with --include for vision, rnn)")
        }
        file = try SafeTensors(contentsOf: path)
    }

    func tensor(_ key: String) throws -> Tensor<Scalar> { try file.tensor(key) }
    var metadata: [String: String] { file.metadata }
}

/// Asserts `actual` equals PyTorch's `expected` to `tolerance`, relative: each element
/// must satisfy |a − e| ≤ tolerance · max(|e|, floor · max|expected|). The floor keeps an
/// element that nearly cancels (a sum of terms of size 1 that comes out at 0.001) from
/// asking for more digits than the terms themselves carry. In Double the floor is 1 % of
/// the tensor's largest element. In Float it is the largest element itself, which makes
/// the test normwise (‖a − e‖∞ ≤ tolerance · ‖e‖∞): a single-precision gradient summed
/// over a batch of hundreds of products carries about 1e-5 of rounding noise relative to
/// the sum's terms whatever the order, and ours and PyTorch's orders differ.
func assertMatchesReference<S: TensorScalar>(
    _ actual: Tensor<S>, _ expected: Tensor<S>, tolerance: Double, _ what: String,
    file: StaticString = #filePath, line: UInt = #line
) {
    XCTAssertEqual(actual.shape, expected.shape, "\(what): shape", file: file, line: line)
    guard actual.shape == expected.shape else { return }
    let floor = (S.self == Float.self ? 1 : 0.01) * Double(expected.maxAbs())
    var worst = 0.0, at = 0
    for i in 0..<actual.count {
        let e = Double(expected.scalars[i]), a = Double(actual.scalars[i])
        let error = abs(a - e) / max(abs(e), floor, .leastNormalMagnitude)
        if error > worst || error.isNaN { worst = error; at = i }
    }
    if ProcessInfo.processInfo.environment["BACKPROP_SHOW_REFERENCE_ERRORS"] != nil {
        print("reference \(what): worst relative error \(worst)")
    }
    XCTAssertLessThanOrEqual(
        worst, tolerance,
        "\(what): relative error \(worst) at flat index \(at): ours \(actual.scalars[at]), PyTorch \(expected.scalars[at])",
        file: file, line: line)
}

/// Loads the fixture's weights (`param.<name>`) into `layer` by name (every name must
/// match, with its shape), then checks the output, the input gradient (`bprop`) and every
/// parameter gradient (`grad`) against PyTorch's.
func assertLayerMatchesPyTorch<L: Layer>(_ name: String, _ layer: L, file: StaticString = #filePath, line: UInt = #line) throws {
    let reference = try Reference<L.Scalar>(name)
    let tolerance = Reference<L.Scalar>.tolerance
    let what = "\(name) (\(L.Scalar.self))"
    try layer.load(from: reference.file, prefix: "param.")
    let input = try reference.tensor("input"), gradOutput = try reference.tensor("grad_output")

    layer.zeroGrad()
    let output = layer.fprop(input)
    assertMatchesReference(output, try reference.tensor("output"), tolerance: tolerance, "\(what) output", file: file, line: line)
    layer.grad(input, gradOutput)
    if reference.file.contains("grad_input") {
        _ = layer.fprop(input)
        let gradInput = layer.bprop(input, gradOutput)
        assertMatchesReference(
            gradInput, try reference.tensor("grad_input"), tolerance: tolerance, "\(what) grad_input", file: file, line: line)
    }
    let parameterNames = layer.namedParameters.map(\.name)
    XCTAssertEqual(
        Set(parameterNames.map { "grad." + $0 }), Set(reference.file.names.filter { $0.hasPrefix("grad.") }),
        "\(what): the fixture's parameter gradients and the layer's parameters differ", file: file, line: line)
    for (pname, parameter) in layer.namedParameters where reference.file.contains("grad." + pname) {
        assertMatchesReference(
            parameter.grad, try reference.tensor("grad." + pname), tolerance: tolerance,
            "\(what) grad.\(pname)", file: file, line: line)
    }
}

/// The same check in Float and in Double, each against its own fixture.
func assertLayerMatchesPyTorch<F: Layer, D: Layer>(
    _ name: String, _ float: F, _ double: D,
    file: StaticString = #filePath, line: UInt = #line
) throws
where F.Scalar == Float, D.Scalar == Double {
    try assertLayerMatchesPyTorch(name, float, file: file, line: line)
    try assertLayerMatchesPyTorch(name, double, file: file, line: line)
}

/// Checks a criterion's loss and its gradient with respect to the input against PyTorch's;
/// `target` reads the fixture's target in the criterion's form.
func assertCriterionMatchesPyTorch<C: Criterion>(
    _ name: String, _ criterion: C,
    target: (Reference<C.Scalar>) throws -> C.Target,
    file: StaticString = #filePath, line: UInt = #line
) throws {
    let reference = try Reference<C.Scalar>(name)
    let tolerance = Reference<C.Scalar>.tolerance
    let what = "\(name) (\(C.Scalar.self))"
    let input = try reference.tensor("input"), goal = try target(reference)
    let loss = Tensor<C.Scalar>(shape: [], scalars: [criterion.forward(input, goal)])
    assertMatchesReference(loss, try reference.tensor("output"), tolerance: tolerance, "\(what) loss", file: file, line: line)
    assertMatchesReference(
        criterion.backward(input, goal), try reference.tensor("grad_input"), tolerance: tolerance,
        "\(what) grad_input", file: file, line: line)
}

/// A criterion whose target is a tensor (MSE, BCE), in Float and in Double.
func assertCriterionMatchesPyTorch<F: Criterion, D: Criterion>(
    _ name: String, _ float: F, _ double: D,
    file: StaticString = #filePath, line: UInt = #line
) throws
where F.Scalar == Float, D.Scalar == Double, F.Target == Tensor<Float>, D.Target == Tensor<Double> {
    try assertCriterionMatchesPyTorch(name, float, target: { try $0.tensor("target") }, file: file, line: line)
    try assertCriterionMatchesPyTorch(name, double, target: { try $0.tensor("target") }, file: file, line: line)
}

/// A criterion whose target is class indices (cross-entropy, NLL), in Float and in Double.
func assertCriterionMatchesPyTorch<F: Criterion, D: Criterion>(
    _ name: String, _ float: F, _ double: D,
    file: StaticString = #filePath, line: UInt = #line
) throws
where F.Scalar == Float, D.Scalar == Double, F.Target == [Int], D.Target == [Int] {
    try assertCriterionMatchesPyTorch(name, float, target: { try classIndices($0) }, file: file, line: line)
    try assertCriterionMatchesPyTorch(name, double, target: { try classIndices($0) }, file: file, line: line)
}

/// The fixture's `target` as class indices (stored as floats holding whole numbers).
func classIndices<S>(_ reference: Reference<S>) throws -> [Int] {
    try reference.tensor("target").scalars.map { Int(Double($0)) }
}

/// For a layer with buffers (batch norm), whose fixture also holds `buffer.<name>` (the
/// state before the step; `num_batches_tracked` as I64) and `buffer_after.<name>` (after
/// it), and the metadata `mode` ("train" or "eval") and `state_dict` (PyTorch's names and
/// dtypes, "weight:F32,…,num_batches_tracked:I64"):
///
/// 1. loads `param.*` and `buffer.*` through `Layer.load`, as the PyTorch state dict they
///    make (the I64 count included), and sets the mode;
/// 2. checks one step, fprop then grad then bprop (one fprop, so the running statistics
///    move once, as in PyTorch): output, grad_input, every grad.<name>, and every buffer
///    after the step;
/// 3. does it again from the same state with `backward` (one pass);
/// 4. checks that `save` writes exactly PyTorch's state_dict names and dtypes, so that
///    `load_state_dict(strict=True)` takes the file.
func assertLayerWithBuffersMatchesPyTorch<L: Layer>(_ name: String, _ layer: L, file: StaticString = #filePath, line: UInt = #line) throws {
    let reference = try Reference<L.Scalar>(name)
    let tolerance = Reference<L.Scalar>.tolerance
    let what = "\(name) (\(L.Scalar.self))"
    var state = SafeTensors()
    for key in reference.file.names {
        for prefix in ["param.", "buffer."] where key.hasPrefix(prefix) {
            let stateName = String(key.dropFirst(prefix.count))
            if reference.file[key]!.dtype.isInteger {
                state.add(stateName, int64: try reference.file.integers(key), shape: reference.file[key]!.shape)
            } else {
                state.add(stateName, try reference.tensor(key) as Tensor<L.Scalar>)
            }
        }
    }
    XCTAssertFalse(layer.namedBuffers.isEmpty, "\(what): the layer has no buffers", file: file, line: line)
    let input = try reference.tensor("input"), gradOutput = try reference.tensor("grad_output")

    for onePass in [false, true] {
        let how = onePass ? "\(what) [backward]" : what
        try layer.load(from: state, prefix: "")
        layer.isTraining = reference.metadata["mode"] != "eval"
        layer.zeroGrad()
        let output = layer.fprop(input)
        assertMatchesReference(output, try reference.tensor("output"), tolerance: tolerance, "\(how) output", file: file, line: line)
        let gradInput: Tensor<L.Scalar>
        if onePass {
            gradInput = layer.backward(input, gradOutput)
        } else {
            layer.grad(input, gradOutput)
            gradInput = layer.bprop(input, gradOutput)
        }
        assertMatchesReference(
            gradInput, try reference.tensor("grad_input"), tolerance: tolerance, "\(how) grad_input", file: file, line: line)
        XCTAssertEqual(
            Set(layer.namedParameters.map { "grad." + $0.name }), Set(reference.file.names.filter { $0.hasPrefix("grad.") }),
            "\(how): the fixture's parameter gradients and the layer's parameters differ", file: file, line: line)
        for (pname, parameter) in layer.namedParameters where reference.file.contains("grad." + pname) {
            assertMatchesReference(
                parameter.grad, try reference.tensor("grad." + pname), tolerance: tolerance,
                "\(how) grad.\(pname)", file: file, line: line)
        }
        XCTAssertEqual(
            Set(layer.namedBuffers.map { "buffer_after." + $0.name }),
            Set(reference.file.names.filter { $0.hasPrefix("buffer_after.") }),
            "\(how): the fixture's buffers and the layer's differ", file: file, line: line)
        for (bname, buffer) in layer.namedBuffers where reference.file.contains("buffer_after." + bname) {
            let key = "buffer_after." + bname
            if buffer.isCount {
                XCTAssertEqual(
                    buffer.value.scalars.map { Int64(Double($0)) }, try reference.file.integers(key),
                    "\(how) \(key)", file: file, line: line)
            } else {
                assertMatchesReference(
                    buffer.value, try reference.tensor(key), tolerance: tolerance, "\(how) \(key)", file: file, line: line)
            }
        }
    }

    var saved = SafeTensors()
    layer.addState(to: &saved)
    let written = Set(saved.names.map { "\($0):\(saved[$0]!.dtype.rawValue)" })
    let pytorch = Set((reference.metadata["state_dict"] ?? "").split(separator: ",").map(String.init))
    XCTAssertEqual(written, pytorch, "\(what): the saved state is not PyTorch's state_dict", file: file, line: line)
}

/// The same in Float and in Double, each against its own fixture.
func assertLayerWithBuffersMatchesPyTorch<F: Layer, D: Layer>(
    _ name: String, _ float: F, _ double: D,
    file: StaticString = #filePath, line: UInt = #line
) throws
where F.Scalar == Float, D.Scalar == Double {
    try assertLayerWithBuffersMatchesPyTorch(name, float, file: file, line: line)
    try assertLayerWithBuffersMatchesPyTorch(name, double, file: file, line: line)
}
