// Sequential, the chain of modules, and LayerBuilder, the result builder of every container.

/// Modules applied one after another: the container of Torch7's `nn.Sequential`.
///
/// ```swift
/// let model = Sequential<Float> {
///     Linear(784, 1024); ReLU()
///     Linear(1024, 10)
/// }
/// model.add(LogSoftmax())
/// ```
///
/// `fprop` keeps every module's input, so that `grad` and `bprop` can run the chain
/// backwards. `grad` (used by training loops) skips the first module's `bprop`, since
/// nobody needs the gradient with respect to the network input, and the bprops of every
/// module up to the first one with parameters (a parameter-free head such as `TimeMajor`
/// needs no gradient, so neither does the layer after it; frozen modules count as
/// parameter-free, and run `bprop` alone); `backward` and `bprop` compute it all (FGSM,
/// GANs, and nested containers).
public final class Sequential<Scalar: TensorScalar>: BackPassContainer {
    /// The modules, in order.
    public private(set) var layers: [any Layer<Scalar>]
    /// Input of each module during the last `fprop` (layer i's input is layer i−1's output).
    private var inputs: [Tensor<Scalar>] = []
    private var lastInputShape: [Int]?

    public init(_ layers: [any Layer<Scalar>] = []) { self.layers = layers }

    public convenience init(@LayerBuilder<Scalar> _ build: () -> [any Layer<Scalar>]) {
        self.init(build())
    }

    /// Appends a module; returns self so calls can chain.
    @discardableResult
    public func add(_ layer: any Layer<Scalar>) -> Sequential {
        layer.isTraining = isTraining
        layers.append(layer)
        return self
    }

    public let mode = TrainingMode()

    /// The modules named by their index, so parameters are `0.weight`, `2.bias`, as in
    /// PyTorch's `state_dict` for `nn.Sequential`.
    public var children: [(name: String, layer: any Layer<Scalar>)] {
        layers.enumerated().map { ("\($0.offset)", $0.element) }
    }

    /// The output shape, or an error naming the first module (index and type) that
    /// cannot take its input, with both shapes.
    public func outputShape(for inputShape: [Int]) throws -> [Int] {
        try shapes(for: inputShape).last ?? inputShape
    }

    /// Each module's output shape for a network input of `inputShape`.
    public func shapes(for inputShape: [Int]) throws -> [[Int]] {
        var shape = inputShape
        var result: [[Int]] = []
        for (i, layer) in layers.enumerated() {
            do {
                shape = try layer.outputShape(for: shape)
            } catch {
                throw ShapeError("Sequential: module (\(i + 1)) \(layer) cannot take input of shape \(shape): \(error)")
            }
            result.append(shape)
        }
        return result
    }

    public func fprop(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
        do { _ = try outputShape(for: input.shape) } catch { requireFailure("\(error)") }
        lastInputShape = input.shape
        inputs.removeAll(keepingCapacity: true)
        var x = input
        for layer in layers {
            inputs.append(x)
            x = layer.fprop(x)
        }
        return x
    }

    /// Runs the chain backwards from `gradOutput`: grad (if `accumulate`) and bprop of each
    /// module. Unless `inputGradient` is asked for, bprop stops where no module before has
    /// parameters: the first module's bprop is skipped, and so are those of the modules
    /// after a parameter-free head (a `TimeMajor` or `Reshape` in front of an LSTM or a
    /// convolution: nobody needs the gradient they would send back).
    public func backPass(
        _ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>,
        accumulate: Bool, inputGradient: Bool
    ) -> Tensor<Scalar>? {
        require(
            inputs.count == layers.count && inputs.first?.shape == input.shape,
            "Sequential: bprop/grad need the input of the most recent fprop (got \(input.shape), last fprop saw \(lastInputShape.map { "\($0)" } ?? "nothing"))"
        )
        // module i's bprop is needed if the caller wants ∂L/∂input or a module before i has
        // parameters to train (frozen ones do not count: they take no gradient)
        let firstTrainable = layers.firstIndex { $0.hasTrainableParameters } ?? layers.count
        var g = gradOutput
        for i in layers.indices.reversed() {
            let needed = inputGradient || i > firstTrainable // does anyone need ∂L/∂(input of i)?
            let trains = accumulate && layers[i].hasTrainableParameters
            switch (trains, needed) {
            case (true, true): g = layers[i].backward(inputs[i], g) // one pass, also inside a nested container
            case (true, false): layers[i].grad(inputs[i], g); return nil
            case (false, true): g = layers[i].bprop(inputs[i], g) // (a frozen module: bprop alone)
            case (false, false): return nil
            }
        }
        return inputGradient ? g : nil
    }

    /// Torch7 style: the chain, each module with its output shape for the last input
    /// seen (if any) and its parameter count, and the total.
    public var description: String {
        let shapes = lastInputShape.flatMap { try? self.shapes(for: $0) }
        var lines = ["Sequential {"]
        let chain = layers.indices.map { "(\($0 + 1))" }.joined(separator: " -> ")
        lines.append("  [input\(lastInputShape.map { " \($0)" } ?? "") -> \(chain) -> output]")
        for (i, layer) in layers.enumerated() {
            var line = "  (\(i + 1)): " + "\(layer)".replacingOccurrences(of: "\n", with: "\n  ")
            if let shapes { line += "  -> \(shapes[i])" }
            let count = layer.parameterCount
            if count > 0 { line += "  [\(count) parameters]" }
            lines.append(line)
        }
        lines.append("}  \(parameterCount) parameters in all")
        return lines.joined(separator: "\n")
    }
}

/// Builds a list of layers from statements, for `Sequential { ... }`.
@resultBuilder
public enum LayerBuilder<Scalar: TensorScalar> {
    public static func buildExpression(_ layer: any Layer<Scalar>) -> [any Layer<Scalar>] { [layer] }
    public static func buildExpression(_ layers: [any Layer<Scalar>]) -> [any Layer<Scalar>] { layers }
    public static func buildBlock(_ parts: [any Layer<Scalar>]...) -> [any Layer<Scalar>] { parts.flatMap { $0 } }
    public static func buildOptional(_ part: [any Layer<Scalar>]?) -> [any Layer<Scalar>] { part ?? [] }
    public static func buildEither(first: [any Layer<Scalar>]) -> [any Layer<Scalar>] { first }
    public static func buildEither(second: [any Layer<Scalar>]) -> [any Layer<Scalar>] { second }
    public static func buildArray(_ parts: [[any Layer<Scalar>]]) -> [any Layer<Scalar>] { parts.flatMap { $0 } }
}
