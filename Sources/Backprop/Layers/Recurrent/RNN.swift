// RNN: the Elman recurrent layer with tanh, over whole sequences [T, N, I] → [T, N, H].

/// An Elman recurrent layer with tanh: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh),
/// as PyTorch's `nn.RNN`. Input `[T, N, I]`, output `[T, N, H]`.
public final class RNN<Scalar: TensorScalar>: RecurrentLayerBase<Scalar>, RecurrentLayer {
    private let gateGrads = ScratchBuffer<Scalar>() // [T, N, H] ∂L/∂pre-activations from BPTT
    private let gradHidden = ScratchBuffer<Scalar>() // [N, H] ∂L/∂h_t through the recurrence

    /// A layer `inputSize → hiddenSize`; every parameter uniform in ±1/√H, as PyTorch.
    public init(_ inputSize: Int, _ hiddenSize: Int, using rng: inout Random) {
        super.init(
            core: RecurrentCore(kind: "RNN", gateCount: 1, hasCell: false, inputSize: inputSize, hiddenSize: hiddenSize, using: &rng))
    }
    /// A layer `inputSize → hiddenSize` initialised from the global generator.
    public convenience init(_ inputSize: Int, _ hiddenSize: Int) { self.init(inputSize, hiddenSize, using: &Random.global) }

    public func fprop(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
        let shape = checkedOutputShape(input.shape)
        core.beginForward(input)
        let (T, N, H) = (input.shape[0], input.shape[1], hiddenSize)
        let step = N * H
        var output = Tensor<Scalar>(uninitialized: shape)
        output.withUnsafeMutablePointer { out in
            // the input projections of all steps go straight into the output, then tanh in place
            core.projectInput(input, into: out)
            let bias = core.stepBias(includeHiddenBias: true)
            core.withStartState(batch: N) { h0, _, _ in
                core.weightHH.value.withUnsafePointer { whh in
                    for t in 0..<T {
                        let ht = out + t * step
                        if let hPrev = t == 0 ? h0 : UnsafePointer(out + (t - 1) * step) {
                            // ht [N, H] += h_{t−1} [N, H] · W_hhᵀ [H, H]
                            Scalar.gemm(
                                transA: false, transB: true, m: N, n: H, k: H, alpha: 1, a: hPrev, lda: H,
                                b: whh, ldb: H, beta: 1, c: ht, ldc: H)
                        }
                        core.forEachRowBlock(N) { r, rows in Scalar.rnnForwardStep(ht + r * H, bias: bias, batch: rows, hiddenSize: H) }
                    }
                }
            }
        }
        core.endForward(output: output, finalCell: nil)
        return output
    }

    /// Backpropagation through time, once per fprop and gradOutput: fills `gateGrads`.
    private func backpropagateThroughTime(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) {
        core.checkBackward(self, input, gradOutput)
        if core.hasGradients(for: gradOutput) { return }
        let (T, N, H) = (input.shape[0], input.shape[1], hiddenSize)
        let step = N * H
        let dG = gateGrads.reserve(T * step), dh = gradHidden.reserve(step)
        Scalar.fill(dh, 0, step)
        core.lastOutput.withUnsafePointer { out in
            gradOutput.withUnsafePointer { gy in
                core.withStartState(batch: N) { h0, _, _ in
                    core.weightHH.value.withUnsafePointer { whh in
                        for t in (0..<T).reversed() {
                            let o = t * step
                            core.forEachRowBlock(N) { r, rows in
                                Scalar.rnnBackwardStep(
                                    hidden: out + o + r * H, gradOutput: gy + o + r * H, gradHidden: dh + r * H,
                                    gradPre: dG + o + r * H, count: rows * H)
                            }
                            if t > 0 || h0 != nil {
                                // ∂L/∂h_{t−1} [N, H] = dG_t [N, H] · W_hh [H, H]
                                Scalar.gemm(
                                    transA: false, transB: false, m: N, n: H, k: H, alpha: 1, a: dG + t * step, lda: H,
                                    b: whh, ldb: H, beta: 0, c: dh, ldc: H)
                            }
                        }
                    }
                }
            }
        }
        core.finishBackward(gradOutput, gradHidden: dh, gradCell: nil)
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
