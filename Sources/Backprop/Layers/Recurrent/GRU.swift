// GRU: the gated recurrent unit layer, over whole sequences [T, N, I] → [T, N, H].

/// A gated recurrent unit layer (Cho et al., 2014) with PyTorch's `nn.GRU` formula:
/// r = σ(W_ir x + b_ir + W_hr h + b_hr), z = σ(W_iz x + b_iz + W_hz h + b_hz),
/// n = tanh(W_in x + b_in + r·(W_hn h + b_hn)), h_t = (1 − z)·n + z·h_{t−1}.
/// Input `[T, N, I]`, output `[T, N, H]`.
public final class GRU<Scalar: TensorScalar>: RecurrentLayerBase<Scalar>, RecurrentLayer {
    private let gates = ScratchBuffer<Scalar>() // [T, N, 3H] r, z, n of the last fprop
    private let newGateHidden = ScratchBuffer<Scalar>() // [T, N, H] W_hn h_{t−1} + b_hn
    private let hiddenProjection = ScratchBuffer<Scalar>() // [N, 3H] h_{t−1} · W_hhᵀ, one step
    private let inputGateGrads = ScratchBuffer<Scalar>() // [T, N, 3H] ∂L/∂(W_ih x + b_ih)
    private let hiddenGateGrads = ScratchBuffer<Scalar>() // [T, N, 3H] ∂L/∂(W_hh h + b_hh)
    private let gradHidden = ScratchBuffer<Scalar>() // [N, H]

    /// A layer `inputSize → hiddenSize`; every parameter uniform in ±1/√H, as PyTorch.
    public init(_ inputSize: Int, _ hiddenSize: Int, using rng: inout Random) {
        super.init(
            core: RecurrentCore(kind: "GRU", gateCount: 3, hasCell: false, inputSize: inputSize, hiddenSize: hiddenSize, using: &rng))
    }
    /// A layer `inputSize → hiddenSize` initialised from the global generator.
    public convenience init(_ inputSize: Int, _ hiddenSize: Int) { self.init(inputSize, hiddenSize, using: &Random.global) }

    public func fprop(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
        let shape = checkedOutputShape(input.shape)
        core.beginForward(input)
        let (T, N, H) = (input.shape[0], input.shape[1], hiddenSize)
        let width = 3 * H, step = N * H
        let g = gates.reserve(T * N * width), hn = newGateHidden.reserve(T * step)
        let hp = hiddenProjection.reserve(N * width)
        core.projectInput(input, into: g)
        // b_ih and b_hh stay apart: b_hn sits inside r·(W_hn h + b_hn)
        let bih = core.stepBias(includeHiddenBias: false)
        var output = Tensor<Scalar>(uninitialized: shape)
        output.withUnsafeMutablePointer { out in
            core.withStartState(batch: N) { h0, h0OrZeros, _ in
                core.weightHH.value.withUnsafePointer { whh in
                    core.biasHH.value.withUnsafePointer { bhh in
                        for t in 0..<T {
                            let hPrev = t == 0 ? h0 : UnsafePointer(out + (t - 1) * step)
                            if let hPrev {
                                // hp [N, 3H] = h_{t−1} [N, H] · W_hhᵀ [H, 3H]
                                Scalar.gemm(
                                    transA: false, transB: true, m: N, n: width, k: H, alpha: 1, a: hPrev, lda: H,
                                    b: whh, ldb: H, beta: 0, c: hp, ldc: width)
                            } else {
                                Scalar.fill(hp, 0, N * width)
                            }
                            let o = t * step, og = t * N * width, prev = hPrev ?? h0OrZeros
                            core.forEachRowBlock(N) { r, rows in
                                Scalar.gruForwardStep(
                                    gates: g + og + r * width, biasIH: bih, hiddenProjection: hp + r * width, biasHH: bhh,
                                    hiddenPrev: prev + r * H, newGateHidden: hn + o + r * H,
                                    hidden: out + o + r * H, batch: rows, hiddenSize: H)
                            }
                        }
                    }
                }
            }
        }
        core.endForward(output: output, finalCell: nil)
        return output
    }

    /// Backpropagation through time, once per fprop and gradOutput: fills the gate gradients.
    private func backpropagateThroughTime(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) {
        core.checkBackward(self, input, gradOutput)
        if core.hasGradients(for: gradOutput) { return }
        let (T, N, H) = (input.shape[0], input.shape[1], hiddenSize)
        let width = 3 * H, step = N * H
        let g = gates.pointer, hn = newGateHidden.pointer
        let dX = inputGateGrads.reserve(T * N * width), dH = hiddenGateGrads.reserve(T * N * width)
        let dh = gradHidden.reserve(step)
        Scalar.fill(dh, 0, step)
        core.lastOutput.withUnsafePointer { out in
            gradOutput.withUnsafePointer { gy in
                core.withStartState(batch: N) { h0, h0OrZeros, _ in
                    core.weightHH.value.withUnsafePointer { whh in
                        for t in (0..<T).reversed() {
                            let hPrev = t == 0 ? h0OrZeros : out + (t - 1) * step
                            // leaves the direct part dh·z of ∂L/∂h_{t−1} in dh …
                            let o = t * step, og = t * N * width
                            core.forEachRowBlock(N) { r, rows in
                                Scalar.gruBackwardStep(
                                    gates: g + og + r * width, newGateHidden: hn + o + r * H,
                                    hiddenPrev: hPrev + r * H, gradOutput: gy + o + r * H, gradHidden: dh + r * H,
                                    gradInputGates: dX + og + r * width, gradHiddenGates: dH + og + r * width,
                                    batch: rows, hiddenSize: H)
                            }
                            if t > 0 || h0 != nil {
                                // … to which the path through W_hh adds dH_t [N, 3H] · W_hh [3H, H]
                                Scalar.gemm(
                                    transA: false, transB: false, m: N, n: H, k: width, alpha: 1, a: dH + t * N * width,
                                    lda: width, b: whh, ldb: H, beta: 1, c: dh, ldc: H)
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
        core.accumulateParameterGradients(
            input: input, inputGateGrads: inputGateGrads.pointer,
            hiddenGateGrads: hiddenGateGrads.pointer)
    }

    public func bprop(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) -> Tensor<Scalar> {
        backpropagateThroughTime(input, gradOutput)
        return core.inputGradient(shape: input.shape, inputGateGrads: inputGateGrads.pointer)
    }
}
