// LSTM: the long short-term memory layer, over whole sequences [T, N, I] → [T, N, H].

/// A long short-term memory layer (Hochreiter & Schmidhuber, 1997, with the forget gate),
/// as PyTorch's `nn.LSTM`: gates i, f, g, o from W_ih x_t + b_ih + W_hh h_{t−1} + b_hh;
/// c_t = σ(f)·c_{t−1} + σ(i)·tanh(g), h_t = σ(o)·tanh(c_t). Input `[T, N, I]`, output
/// `[T, N, H]`; the final cell state is in `finalState.cell`.
///
/// ```swift
/// let lstm = LSTM<Float>(28, 128)                  // weight_ih_l0 [512, 28], weight_hh_l0 [512, 128]
/// let h = lstm.fprop(x)                            // x [T, N, 28] → h [T, N, 128]
/// ```
public final class LSTM<Scalar: TensorScalar>: RecurrentLayerBase<Scalar>, RecurrentLayer {
    private let gates = ScratchBuffer<Scalar>() // [T, N, 4H] activations of the last fprop
    private let cells = ScratchBuffer<Scalar>() // [T, N, H] c_t
    private let tanhCells = ScratchBuffer<Scalar>() // [T, N, H] tanh(c_t)
    private let gateGrads = ScratchBuffer<Scalar>() // [T, N, 4H] ∂L/∂gate pre-activations from BPTT
    private let gradHidden = ScratchBuffer<Scalar>() // [N, H]
    private let gradCell = ScratchBuffer<Scalar>() // [N, H]

    /// A layer `inputSize → hiddenSize`; every parameter uniform in ±1/√H, as PyTorch.
    public init(_ inputSize: Int, _ hiddenSize: Int, using rng: inout Random) {
        super.init(
            core: RecurrentCore(kind: "LSTM", gateCount: 4, hasCell: true, inputSize: inputSize, hiddenSize: hiddenSize, using: &rng))
    }
    /// A layer `inputSize → hiddenSize` initialised from the global generator.
    public convenience init(_ inputSize: Int, _ hiddenSize: Int) { self.init(inputSize, hiddenSize, using: &Random.global) }

    public func fprop(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
        let shape = checkedOutputShape(input.shape)
        core.beginForward(input)
        let (T, N, H) = (input.shape[0], input.shape[1], hiddenSize)
        let width = 4 * H, step = N * H
        let g = gates.reserve(T * N * width), c = cells.reserve(T * step), tc = tanhCells.reserve(T * step)
        core.projectInput(input, into: g)
        let bias = core.stepBias(includeHiddenBias: true)
        var output = Tensor<Scalar>(uninitialized: shape)
        output.withUnsafeMutablePointer { out in
            core.withStartState(batch: N) { h0, _, c0 in
                core.weightHH.value.withUnsafePointer { whh in
                    for t in 0..<T {
                        let gt = g + t * N * width
                        if let hPrev = t == 0 ? h0 : UnsafePointer(out + (t - 1) * step) {
                            // gates_t [N, 4H] += h_{t−1} [N, H] · W_hhᵀ [H, 4H]
                            Scalar.gemm(
                                transA: false, transB: true, m: N, n: width, k: H, alpha: 1, a: hPrev, lda: H,
                                b: whh, ldb: H, beta: 1, c: gt, ldc: width)
                        }
                        let cPrev = t == 0 ? c0 : UnsafePointer(c + (t - 1) * step)
                        let o = t * step
                        core.forEachRowBlock(N) { r, rows in
                            Scalar.lstmForwardStep(
                                gates: gt + r * width, bias: bias, cellPrev: cPrev + r * H, cell: c + o + r * H,
                                tanhCell: tc + o + r * H, hidden: out + o + r * H, batch: rows, hiddenSize: H)
                        }
                    }
                }
            }
        }
        core.endForward(output: output, finalCell: c + (T - 1) * step)
        return output
    }

    /// Backpropagation through time, once per fprop and gradOutput: fills `gateGrads`.
    private func backpropagateThroughTime(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) {
        core.checkBackward(self, input, gradOutput)
        if core.hasGradients(for: gradOutput) { return }
        let (T, N, H) = (input.shape[0], input.shape[1], hiddenSize)
        let width = 4 * H, step = N * H
        let g = gates.pointer, c = cells.pointer, tc = tanhCells.pointer
        let dG = gateGrads.reserve(T * N * width)
        let dh = gradHidden.reserve(step), dc = gradCell.reserve(step)
        Scalar.fill(dh, 0, step)
        Scalar.fill(dc, 0, step)
        gradOutput.withUnsafePointer { gy in
            core.withStartState(batch: N) { h0, _, c0 in
                core.weightHH.value.withUnsafePointer { whh in
                    for t in (0..<T).reversed() {
                        let cPrev = t == 0 ? c0 : UnsafePointer(c + (t - 1) * step)
                        let o = t * step, og = t * N * width
                        core.forEachRowBlock(N) { r, rows in
                            Scalar.lstmBackwardStep(
                                gates: g + og + r * width, cellPrev: cPrev + r * H, tanhCell: tc + o + r * H,
                                gradOutput: gy + o + r * H, gradHidden: dh + r * H, gradCell: dc + r * H,
                                gradGates: dG + og + r * width, batch: rows, hiddenSize: H)
                        }
                        if t > 0 || h0 != nil {
                            // ∂L/∂h_{t−1} [N, H] = dG_t [N, 4H] · W_hh [4H, H]
                            Scalar.gemm(
                                transA: false, transB: false, m: N, n: H, k: width, alpha: 1, a: dG + t * N * width,
                                lda: width, b: whh, ldb: H, beta: 0, c: dh, ldc: H)
                        }
                    }
                }
            }
        }
        core.finishBackward(gradOutput, gradHidden: dh, gradCell: dc)
    }

    public func grad(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) {
        backpropagateThroughTime(input, gradOutput)
        core.accumulateParameterGradients(input: input, inputGateGrads: gateGrads.pointer, hiddenGateGrads: gateGrads.pointer)
    }

    public func bprop(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) -> Tensor<Scalar> {
        backpropagateThroughTime(input, gradOutput)
        return core.inputGradient(shape: input.shape, inputGateGrads: gateGrads.pointer)
    }
}
