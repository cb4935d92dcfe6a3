// Containers whose modules run side by side on the same input (or on pieces of it): Torch7's
// `Concat`, `Parallel`, and `ConcatTable` followed by `CAddTable` (here `Sum`), plus the
// back pass they share. A branch point's gradient is the SUM of its branches' gradients.

/// Each branch's input gradient (or nil when only the parameters' gradients are wanted),
/// branch i running on `inputs[i]` with ∂L/∂(its output) `gradOutputs[i]`. With
/// `accumulate` each branch runs `backward` (or `grad` alone, when no input gradient is
/// needed), so that no branch's work runs twice; without it, `bprop` alone.
func branchBackPass<Scalar>(
    _ branches: [any Layer<Scalar>], inputs: [Tensor<Scalar>], gradOutputs: [Tensor<Scalar>],
    accumulate: Bool, inputGradient: Bool
) -> [Tensor<Scalar>]? {
    var result: [Tensor<Scalar>] = []
    for (i, branch) in branches.enumerated() {
        let trains = accumulate && branch.hasTrainableParameters // (a frozen branch takes no gradient)
        switch (trains, inputGradient) {
        case (true, true): result.append(branch.backward(inputs[i], gradOutputs[i]))
        case (true, false): branch.grad(inputs[i], gradOutputs[i])
        case (false, true): result.append(branch.bprop(inputs[i], gradOutputs[i]))
        case (false, false): if !accumulate { result.append(branch.bprop(inputs[i], gradOutputs[i])) }
        }
    }
    return accumulate && !inputGradient ? nil : result
}

/// Σᵢ tensors[i] (all of one shape: branch outputs or branch gradients), summed into the first.
func sumOfBranches<Scalar>(_ tensors: [Tensor<Scalar>]) -> Tensor<Scalar> {
    var total = tensors[0]
    for t in tensors.dropFirst() { total += t }
    return total
}

/// The branches named as the entries of a PyTorch `nn.ModuleList` called `branches`:
/// `branches.0`, `branches.1`, …
func branchChildren<Scalar>(_ branches: [any Layer<Scalar>]) -> [(name: String, layer: any Layer<Scalar>)] {
    branches.enumerated().map { ("branches.\($0.offset)", $0.element) }
}

/// A container's description with a header of its own (`Concat(axis: 1) {`), then each child.
func describeContainer<Scalar>(_ header: String, _ children: [(name: String, layer: any Layer<Scalar>)]) -> String {
    let lines = children.map { "  (\($0.name)): " + "\($0.layer)".replacingOccurrences(of: "\n", with: "\n  ") }
    return ([header + " {"] + lines + ["}"]).joined(separator: "\n")
}

/// Each branch's output shape for branch i's input shape `inputShapes[i]`, or a `ShapeError`
/// naming `container`, the branch (index and module) and the shape it cannot take.
func branchOutputShapes<Scalar>(_ container: String, _ branches: [any Layer<Scalar>], inputShapes: [[Int]]) throws -> [[Int]] {
    try branches.enumerated().map { i, branch in
        do { return try branch.outputShape(for: inputShapes[i]) } catch {
            throw ShapeError("\(container): branch \(i) (\(branch)) cannot take input of shape \(inputShapes[i]): \(error)")
        }
    }
}

/// The shape of the branch outputs `shapes` concatenated along `axis` (negative: from the end),
/// or a `ShapeError` naming `container`, the branch and the shapes that differ outside the axis.
func concatenatedShape(_ container: String, _ shapes: [[Int]], axis: Int, inputShape: [Int]) throws -> (shape: [Int], axis: Int) {
    let first = shapes[0], rank = first.count
    guard axis >= -rank && axis < rank else {
        throw ShapeError("\(container): axis \(axis) is out of range for branch 0's output \(first) (input \(inputShape))")
    }
    let a = axis < 0 ? axis + rank : axis
    var total = 0
    for (i, shape) in shapes.enumerated() {
        var s = shape, f = first
        if s.count == f.count { s[a] = 0; f[a] = 0 }
        guard s == f else {
            throw ShapeError(
                "\(container): branch \(i) gives output \(shape) but branch 0 gives \(first) for input \(inputShape); they must match outside axis \(a) (outputs \(shapes))"
            )
        }
        total += shape[a]
    }
    var result = first
    result[a] = total
    return (result, a)
}

/// Every branch applied to the same input, the outputs joined along `axis`: Torch7's
/// `nn.Concat(dimension)`, `torch.cat([b(x) for b in branches], dim=axis)`.
///
/// ```swift
/// let inception = Concat<Float>(axis: 1) {          // NCHW: channels are axis 1
///     Conv2D(16, 8, kernelSize: 1)
///     Sequential { Conv2D(16, 4, kernelSize: 1); ReLU(); Conv2D(4, 8, kernelSize: 3, padding: 1) }
/// }                                                  // [N, 16, H, W] → [N, 16, H, W]
/// ```
///
/// Input: any shape every branch takes. Output: the branches' outputs `[A…, nᵢ, B…]`
/// concatenated to `[A…, Σnᵢ, B…]` along `axis` (negative axes count from the end of the
/// outputs: −1 is the last); they must agree on every other axis. bprop: ∂L/∂x =
/// Σᵢ bpropᵢ(x, piece i of ∂L/∂y along `axis`).
///
/// Parameter names are those of a PyTorch module holding `self.branches =
/// nn.ModuleList([...])`: `branches.0.weight`, `branches.1.0.weight` (a `Sequential` branch),
/// and `0.branches.1.weight` inside a `Sequential`.
public final class Concat<Scalar: TensorScalar>: BackPassContainer {
    /// The branches, in the order their outputs are joined.
    public let branches: [any Layer<Scalar>]
    /// The axis of the outputs along which they are joined.
    public let axis: Int
    public let mode = TrainingMode()

    public init(axis: Int, _ branches: [any Layer<Scalar>]) {
        require(!branches.isEmpty, "Concat(axis: \(axis)): needs at least one branch")
        self.axis = axis
        self.branches = branches
    }

    /// One branch per statement; a branch of several modules is a `Sequential { … }`.
    public convenience init(axis: Int, @LayerBuilder<Scalar> _ build: () -> [any Layer<Scalar>]) {
        self.init(axis: axis, build())
    }

    public var children: [(name: String, layer: any Layer<Scalar>)] { branchChildren(branches) }
    public var description: String { describeContainer("Concat(axis: \(axis))", children) }

    private var name: String { "Concat(axis: \(axis))" }

    /// Each branch's output shape, and the concatenated shape and axis (non-negative).
    private func shapes(for inputShape: [Int]) throws -> (branches: [[Int]], output: [Int], axis: Int) {
        let outputs = try branchOutputShapes(name, branches, inputShapes: Array(repeating: inputShape, count: branches.count))
        let (shape, a) = try concatenatedShape(name, outputs, axis: axis, inputShape: inputShape)
        return (outputs, shape, a)
    }

    public func outputShape(for inputShape: [Int]) throws -> [Int] { try shapes(for: inputShape).output }

    // x [any] → y = cat(branch_i(x), axis)
    public func fprop(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
        _ = checkedOutputShape(input.shape)
        return .concatenated(branches.map { $0.fprop(input) }, along: axis)
    }

    // gradOutput [A…, Σnᵢ, B…] is cut into the branches' pieces [A…, nᵢ, B…]; ∂L/∂x = Σᵢ ∂L/∂x through branch i
    public func backPass(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>, accumulate: Bool, inputGradient: Bool) -> Tensor<Scalar>? {
        let s: (branches: [[Int]], output: [Int], axis: Int)
        do { s = try shapes(for: input.shape) } catch { requireFailure("\(error)") }
        require(
            gradOutput.shape == s.output,
            "\(name): gradOutput has shape \(gradOutput.shape) but the output for input \(input.shape) has shape \(s.output)")
        let pieces = branches.count == 1 ? [gradOutput] : gradOutput.split(sizes: s.branches.map { $0[s.axis] }, along: s.axis)
        let inputs = Array(repeating: input, count: branches.count)
        return branchBackPass(branches, inputs: inputs, gradOutputs: pieces, accumulate: accumulate, inputGradient: inputGradient)
            .map(sumOfBranches)
    }

}

/// The input cut along `axis` into consecutive pieces, piece i through branch i, the outputs
/// joined along the same `axis`.
///
/// ```swift
/// let twoHeads = Parallel<Float>(axis: 1) { Linear(3, 2); Linear(3, 5) }   // [N, 6] → [N, 7]
/// ```
///
/// Exactly: for an input `[A…, n, B…]` the pieces are `x.split(sizes, along: axis)`, each
/// `[A…, sizesᵢ, B…]`, where `sizes` is given (it must sum to n) or, by default, n cut into
/// `branches.count` equal parts (n must divide evenly). The output is
/// `Tensor.concatenated([branch_i(piece_i)], along: axis)`; an `axis` < 0 counts from the end,
/// of the input for the cut and of the outputs for the join. PyTorch twin:
/// `torch.cat([b(p) for b, p in zip(self.branches, x.split(sizes, axis))], axis)`.
///
/// Torch7's `nn.Parallel(inputDimension, outputDimension)` *selects* index i along the
/// input dimension (removing it) for branch i; this keeps the axis and cuts it into pieces,
/// which is the same for pieces of size 1 followed by a `Reshape`, and the join is along the
/// same axis.
///
/// Parameter names: `branches.0.weight`, `branches.1.0.weight`, … (as `Concat`).
/// Branch i caches its piece of the last `fprop`'s input for bprop and grad.
public final class Parallel<Scalar: TensorScalar>: BackPassContainer {
    /// The branches: branch i gets piece i of the input.
    public let branches: [any Layer<Scalar>]
    /// The axis along which the input is cut and the outputs are joined.
    public let axis: Int
    /// The sizes of the pieces along `axis`, or nil for equal pieces.
    public let sizes: [Int]?
    public let mode = TrainingMode()

    private var pieces: [Tensor<Scalar>] = []
    private var lastInputShape: [Int]?

    public init(axis: Int, sizes: [Int]? = nil, _ branches: [any Layer<Scalar>]) {
        require(!branches.isEmpty, "Parallel(axis: \(axis)): needs at least one branch")
        if let sizes {
            require(
                sizes.count == branches.count && sizes.allSatisfy { $0 >= 0 },
                "Parallel(axis: \(axis), sizes: \(sizes)): needs one non-negative size per branch (\(branches.count) branches)")
        }
        self.axis = axis
        self.sizes = sizes
        self.branches = branches
    }

    /// One branch per statement; a branch of several modules is a `Sequential { … }`.
    public convenience init(axis: Int, sizes: [Int]? = nil, @LayerBuilder<Scalar> _ build: () -> [any Layer<Scalar>]) {
        self.init(axis: axis, sizes: sizes, build())
    }

    public var children: [(name: String, layer: any Layer<Scalar>)] { branchChildren(branches) }
    public var description: String { describeContainer(name, children) }

    private var name: String { "Parallel(axis: \(axis)\(sizes.map { ", sizes: \($0)" } ?? ""))" }

    /// The pieces' sizes along the (non-negative) input axis, for an input of `inputShape`.
    private func pieceSizes(for inputShape: [Int]) throws -> (sizes: [Int], axis: Int) {
        let rank = inputShape.count
        guard axis >= -rank && axis < rank else {
            throw ShapeError("\(name): axis \(axis) is out of range for input \(inputShape)")
        }
        let a = axis < 0 ? axis + rank : axis, n = inputShape[a]
        if let sizes {
            guard sizes.reduce(0, +) == n else {
                throw ShapeError(
                    "\(name): input \(inputShape) has size \(n) along axis \(a) but the sizes \(sizes) sum to \(sizes.reduce(0, +))")
            }
            return (sizes, a)
        }
        guard n % branches.count == 0 else {
            throw ShapeError(
                "\(name): input \(inputShape) has size \(n) along axis \(a), which \(branches.count) branches cannot share equally")
        }
        return (Array(repeating: n / branches.count, count: branches.count), a)
    }

    /// Each piece's shape, each branch's output shape, the joined shape and its axis.
    private func shapes(for inputShape: [Int]) throws -> (pieces: [[Int]], branches: [[Int]], output: [Int], axis: Int) {
        let (sizes, a) = try pieceSizes(for: inputShape)
        let pieces = sizes.map { size -> [Int] in
            var s = inputShape; s[a] = size; return s
        }
        let outputs = try branchOutputShapes(name, branches, inputShapes: pieces)
        let (shape, outAxis) = try concatenatedShape(name, outputs, axis: axis, inputShape: inputShape)
        return (pieces, outputs, shape, outAxis)
    }

    public func outputShape(for inputShape: [Int]) throws -> [Int] { try shapes(for: inputShape).output }

    // x [A…, n, B…] → pieces [A…, sizesᵢ, B…] → y = cat(branch_i(piece_i), axis)
    public func fprop(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
        let sizes: (sizes: [Int], axis: Int)
        do { _ = try shapes(for: input.shape); sizes = try pieceSizes(for: input.shape) } catch { requireFailure("\(error)") }
        pieces = branches.count == 1 ? [input] : input.split(sizes: sizes.sizes, along: sizes.axis)
        lastInputShape = input.shape
        return .concatenated(zip(branches, pieces).map { $0.fprop($1) }, along: axis)
    }

    // gradOutput cut into the branches' output pieces; ∂L/∂x = cat(∂L/∂piece_i, axis)
    public func backPass(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>, accumulate: Bool, inputGradient: Bool) -> Tensor<Scalar>? {
        require(
            lastInputShape == input.shape && pieces.count == branches.count,
            "\(name): bprop/grad need the input of the most recent fprop (got \(input.shape), last fprop saw \(lastInputShape.map { "\($0)" } ?? "nothing"))"
        )
        let s: (pieces: [[Int]], branches: [[Int]], output: [Int], axis: Int)
        do { s = try shapes(for: input.shape) } catch { requireFailure("\(error)") }
        require(
            gradOutput.shape == s.output,
            "\(name): gradOutput has shape \(gradOutput.shape) but the output for input \(input.shape) has shape \(s.output)")
        let gradPieces = branches.count == 1 ? [gradOutput] : gradOutput.split(sizes: s.branches.map { $0[s.axis] }, along: s.axis)
        return branchBackPass(branches, inputs: pieces, gradOutputs: gradPieces, accumulate: accumulate, inputGradient: inputGradient)
            .map { Tensor.concatenated($0, along: axis) }
    }

}

/// Every branch applied to the same input, the outputs added: y = Σᵢ branch_i(x), Torch7's
/// `nn.ConcatTable` followed by `nn.CAddTable`.
///
/// ```swift
/// let twoPaths = Sum<Float> { Linear(8, 4); Sequential { Linear(8, 16); Tanh(); Linear(16, 4) } }
/// ```
///
/// Input: any shape every branch takes; every branch must give the same output shape, which
/// is the output's. bprop: ∂L/∂x = Σᵢ bpropᵢ(x, ∂L/∂y). The same module may appear in two
/// branches (its parameters then receive both contributions).
///
/// Parameter names: `branches.0.weight`, `branches.1.0.weight`, … (a PyTorch twin with
/// `self.branches = nn.ModuleList([...])` and `forward` returning `sum(b(x) for b in self.branches)`).
public final class Sum<Scalar: TensorScalar>: BackPassContainer {
    /// The branches, whose outputs are added.
    public let branches: [any Layer<Scalar>]
    public let mode = TrainingMode()

    public init(_ branches: [any Layer<Scalar>]) {
        require(!branches.isEmpty, "Sum: needs at least one branch")
        self.branches = branches
    }

    /// One branch per statement; a branch of several modules is a `Sequential { … }`.
    public convenience init(@LayerBuilder<Scalar> _ build: () -> [any Layer<Scalar>]) {
        self.init(build())
    }

    public var children: [(name: String, layer: any Layer<Scalar>)] { branchChildren(branches) }

    /// The common output shape of the branches, or a `ShapeError` naming the branch that differs.
    public func outputShape(for inputShape: [Int]) throws -> [Int] {
        let outputs = try branchOutputShapes("Sum", branches, inputShapes: Array(repeating: inputShape, count: branches.count))
        for (i, shape) in outputs.enumerated() where shape != outputs[0] {
            throw ShapeError(
                "Sum: branch \(i) gives output \(shape) but branch 0 gives \(outputs[0]) for input \(inputShape); the outputs must have one shape to be added"
            )
        }
        return outputs[0]
    }

    // x [any] → y = Σᵢ branch_i(x)
    public func fprop(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
        _ = checkedOutputShape(input.shape)
        return sumOfBranches(branches.map { $0.fprop(input) })
    }

    // every branch gets gradOutput; ∂L/∂x = Σᵢ ∂L/∂x through branch i
    public func backPass(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>, accumulate: Bool, inputGradient: Bool) -> Tensor<Scalar>? {
        checkGradOutput(input, gradOutput)
        let n = branches.count
        return branchBackPass(
            branches, inputs: Array(repeating: input, count: n), gradOutputs: Array(repeating: gradOutput, count: n),
            accumulate: accumulate, inputGradient: inputGradient
        )
        .map(sumOfBranches)
    }

}
