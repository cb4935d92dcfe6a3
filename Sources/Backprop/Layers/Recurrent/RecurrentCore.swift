// The recurrent core: parameters, state, the record of the last fprop, the BPTT cache and
// the GEMMs over all steps at once, shared by RNN, LSTM and GRU; and the scratch buffers
// their step loops reuse.

/// Parameters, state, the record of the last fprop, the BPTT cache, and the GEMMs over
/// all steps at once: everything `RNN`, `LSTM` and `GRU` have in common.
final class RecurrentCore<Scalar: TensorScalar> {
    let kind: String
    let gateCount: Int
    let hasCell: Bool
    let inputSize: Int
    let hiddenSize: Int
    let weightIH: Parameter<Scalar>
    let weightHH: Parameter<Scalar>
    let biasIH: Parameter<Scalar>
    let biasHH: Parameter<Scalar>

    var initialState: RecurrentState<Scalar>?
    var isStateful = false
    private(set) var finalState: RecurrentState<Scalar>?
    private(set) var initialStateGradient: RecurrentState<Scalar>?

    // the most recent fprop
    private var generation = 0
    private var lastInputShape: [Int]?
    /// The state it started from (nil: zeros).
    private(set) var startState: RecurrentState<Scalar>?
    /// Its output, h_t for every t: `[T, N, H]` (h_{t−1} for the W_hh gradient).
    private(set) var lastOutput = Tensor<Scalar>.zeros([0])

    // which (fprop, gradOutput) the BPTT results in the layer's buffers belong to
    private var gradientsGeneration = -1
    private var gradientsFor: Tensor<Scalar>?

    private let zeros = ScratchBuffer<Scalar>() // [N, H] zero state
    private let biasScratch = ScratchBuffer<Scalar>() // [G·H] bias gradient sums
    private let stepBiasScratch = ScratchBuffer<Scalar>() // [G·H] the bias of the step kernels

    init(kind: String, gateCount: Int, hasCell: Bool, inputSize: Int, hiddenSize: Int, using rng: inout Random) {
        require(inputSize > 0 && hiddenSize > 0, "\(kind): sizes must be positive, got \(inputSize) -> \(hiddenSize)")
        self.kind = kind
        self.gateCount = gateCount
        self.hasCell = hasCell
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        // PyTorch: every parameter uniform in ±1/√H, drawn in state_dict order
        let a = Scalar(1 / Double(hiddenSize).squareRoot()), rows = gateCount * hiddenSize
        weightIH = Parameter(.uniform([rows, inputSize], in: -a...a, using: &rng))
        weightHH = Parameter(.uniform([rows, hiddenSize], in: -a...a, using: &rng))
        biasIH = Parameter(.uniform([rows], in: -a...a, using: &rng), decays: false)
        biasHH = Parameter(.uniform([rows], in: -a...a, using: &rng), decays: false)
    }

    var description: String { "\(kind)(\(inputSize) -> \(hiddenSize)\(isStateful ? ", stateful" : ""))" }

    var namedParameters: [(name: String, parameter: Parameter<Scalar>)] {
        [("weight_ih_l0", weightIH), ("weight_hh_l0", weightHH), ("bias_ih_l0", biasIH), ("bias_hh_l0", biasHH)]
    }

    func outputShape(for inputShape: [Int]) throws -> [Int] {
        guard inputShape.count == 3, inputShape[2] == inputSize, inputShape[0] > 0, inputShape[1] > 0 else {
            throw ShapeError("\(description) expects input [T, N, \(inputSize)] with T, N ≥ 1, got \(inputShape)")
        }
        return [inputShape[0], inputShape[1], hiddenSize]
    }

    // MARK: forward bookkeeping

    /// Starts an fprop of `input` [T, N, I]: records it and fixes the state it starts from.
    func beginForward(_ input: Tensor<Scalar>) {
        generation += 1
        lastInputShape = input.shape
        gradientsFor = nil
        initialStateGradient = nil
        let expected = [input.shape[1], hiddenSize]
        if let state = initialState {
            let hint = isStateful ? " (in stateful mode the batch size cannot change: call resetState())" : ""
            require(
                state.hidden.shape == expected,
                "\(description): initial hidden state has shape \(state.hidden.shape) but input \(input.shape) needs \(expected)\(hint)")
            if let cell = state.cell {
                require(hasCell, "\(description): has no cell state, but the initial state has one")
                require(
                    cell.shape == expected,
                    "\(description): initial cell state has shape \(cell.shape) but input \(input.shape) needs \(expected)\(hint)")
            }
        }
        startState = initialState
    }

    /// Ends an fprop: records its output and final state (carried over if stateful).
    func endForward(output: Tensor<Scalar>, finalCell: UnsafePointer<Scalar>?) {
        lastOutput = output
        let (T, N) = (output.shape[0], output.shape[1])
        let step = N * hiddenSize
        let hidden = output.withUnsafePointer { out in
            Tensor<Scalar>(shape: [N, hiddenSize]) { Scalar.copy(out + (T - 1) * step, $0, step) }
        }
        let cell = finalCell.map { c in Tensor<Scalar>(shape: [N, hiddenSize]) { Scalar.copy(c, $0, step) } }
        finalState = RecurrentState(hidden: hidden, cell: cell)
        if isStateful { initialState = finalState }
    }

    /// Calls `body` with the start state: h₀ (nil when starting from zeros), h₀ or zeros,
    /// and c₀ or zeros; each `[N, H]`.
    func withStartState<R>(batch: Int, _ body: (UnsafePointer<Scalar>?, UnsafePointer<Scalar>, UnsafePointer<Scalar>) -> R) -> R {
        let count = batch * hiddenSize
        let zero = zeros.reserve(count)
        Scalar.fill(zero, 0, count)
        func with(_ t: Tensor<Scalar>?, _ f: (UnsafePointer<Scalar>?) -> R) -> R {
            if let t { return t.withUnsafePointer { f($0) } } else { return f(nil) }
        }
        return with(startState?.hidden) { h in with(startState?.cell) { c in body(h, h ?? UnsafePointer(zero), c ?? UnsafePointer(zero)) } }
    }

    /// Runs a step kernel on blocks of the batch's rows, `body(firstRow, rowCount)`, split
    /// over `Threads.count` threads when the step is big enough to pay for waking them:
    /// from 64K hidden units per step (N·H); smaller steps (the MNIST and char-rnn sizes
    /// are 8K) run on one thread, where waking a second one costs more than it saves.
    func forEachRowBlock(_ batch: Int, _ body: (Int, Int) -> Void) {
        Threads.parallelFor(batch, costPerItem: hiddenSize, minimumWork: 1 << 16) { rows in body(rows.lowerBound, rows.count) }
    }

    /// gates [T·N, G·H] = x [T·N, I] · W_ihᵀ: the input projection of every step in one
    /// GEMM (the step kernels add the biases).
    func projectInput(_ input: Tensor<Scalar>, into gates: UnsafeMutablePointer<Scalar>) {
        let rows = input.shape[0] * input.shape[1], width = gateCount * hiddenSize
        input.withUnsafePointer { x in
            weightIH.value.withUnsafePointer { w in
                Scalar.gemm(
                    transA: false, transB: true, m: rows, n: width, k: inputSize, alpha: 1, a: x, lda: inputSize,
                    b: w, ldb: inputSize, beta: 0, c: gates, ldc: width)
            }
        }
    }

    /// The bias [G·H] the step kernels add: b_ih + b_hh (RNN, LSTM), or b_ih alone (GRU).
    /// Valid until the next call.
    func stepBias(includeHiddenBias: Bool) -> UnsafePointer<Scalar> {
        let width = gateCount * hiddenSize
        let bias = stepBiasScratch.reserve(width)
        biasIH.value.withUnsafePointer { bi in
            if includeHiddenBias {
                biasHH.value.withUnsafePointer { bh in Scalar.add(bi, bh, bias, width) }
            } else {
                Scalar.copy(bi, bias, width)
            }
        }
        return UnsafePointer(bias)
    }

    // MARK: backward bookkeeping

    /// Preconditions for bprop and grad: the input of the last fprop, a gradOutput of its output's shape.
    func checkBackward<L: Layer>(_ layer: L, _ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) where L.Scalar == Scalar {
        require(
            lastInputShape == input.shape,
            "\(description): bprop/grad need the input of the most recent fprop (got \(input.shape), last fprop saw \(lastInputShape.map { "\($0)" } ?? "nothing"))"
        )
        layer.checkGradOutput(input, gradOutput)
    }

    /// True when BPTT has already run for the last fprop and this very gradOutput (same storage).
    func hasGradients(for gradOutput: Tensor<Scalar>) -> Bool {
        guard gradientsGeneration == generation, let cached = gradientsFor, cached.shape == gradOutput.shape else { return false }
        // `cached` keeps its storage alive, so equal addresses mean the same, unmodified tensor
        return cached.scalars.withUnsafeBufferPointer { a in
            gradOutput.scalars.withUnsafeBufferPointer { b in a.baseAddress == b.baseAddress }
        }
    }

    /// Records that BPTT ran for `gradOutput`, with ∂L/∂h₀ and ∂L/∂c₀ in the given `[N, H]` buffers.
    func finishBackward(_ gradOutput: Tensor<Scalar>, gradHidden: UnsafePointer<Scalar>, gradCell: UnsafePointer<Scalar>?) {
        gradientsGeneration = generation
        gradientsFor = gradOutput
        if let start = startState {
            let shape = start.hidden.shape, count = start.hidden.count
            initialStateGradient = RecurrentState(
                hidden: Tensor(shape: shape) { Scalar.copy(gradHidden, $0, count) },
                cell: gradCell.map { dc in Tensor(shape: shape) { Scalar.copy(dc, $0, count) } })
        } else {
            initialStateGradient = nil
        }
    }

    /// Adds the parameters' gradients from the gate gradients of all steps, one GEMM each:
    /// weight_ih += dXᵀ · x, weight_hh += dHᵀ · h_prev, bias_ih += Σ dX, bias_hh += Σ dH.
    /// dX and dH are `[T·N, G·H]` (the same buffer for RNN and LSTM).
    func accumulateParameterGradients(
        input: Tensor<Scalar>, inputGateGrads dX: UnsafePointer<Scalar>,
        hiddenGateGrads dH: UnsafePointer<Scalar>
    ) {
        let (T, N) = (input.shape[0], input.shape[1])
        let rows = T * N, width = gateCount * hiddenSize, H = hiddenSize
        // weight_ih.grad [G·H, I] += dXᵀ [G·H, T·N] · x [T·N, I]
        input.withUnsafePointer { x in
            weightIH.accumulateGrad { grad, beta in
                grad.withUnsafeMutablePointer { gw in
                    Scalar.gemm(
                        transA: true, transB: false, m: width, n: inputSize, k: rows, alpha: 1, a: dX, lda: width,
                        b: x, ldb: inputSize, beta: beta, c: gw, ldc: inputSize)
                }
            }
        }
        // weight_hh.grad [G·H, H] += dH_tᵀ · h_{t−1} over t ≥ 1 (one GEMM: h_0…h_{T−2} are
        // the output's first T−1 steps), plus dH_0ᵀ · h₀ when the run did not start from zeros
        lastOutput.withUnsafePointer { out in
            weightHH.accumulateGrad { grad, firstBeta in
                var beta = firstBeta
                grad.withUnsafeMutablePointer { gw in
                    if T > 1 {
                        Scalar.gemm(
                            transA: true, transB: false, m: width, n: H, k: (T - 1) * N, alpha: 1, a: dH + N * width,
                            lda: width, b: out, ldb: H, beta: beta, c: gw, ldc: H)
                        beta = 1
                    }
                    startState?.hidden.withUnsafePointer { h0 in
                        Scalar.gemm(
                            transA: true, transB: false, m: width, n: H, k: N, alpha: 1, a: dH, lda: width,
                            b: h0, ldb: H, beta: beta, c: gw, ldc: H)
                        beta = 1
                    }
                }
                if beta == 0 { grad.zero() } // one step from zeros: nothing to add
            }
        }
        // biases: column sums of the gate gradients
        let sums = biasScratch.reserve(width)
        Scalar.columnSums(dX, rows: rows, cols: width, sums, accumulate: false)
        biasIH.grad.withUnsafeMutablePointer { Scalar.axpy(width, 1, sums, $0) }
        if dH != dX { Scalar.columnSums(dH, rows: rows, cols: width, sums, accumulate: false) }
        biasHH.grad.withUnsafeMutablePointer { Scalar.axpy(width, 1, sums, $0) }
    }

    /// ∂L/∂x [T·N, I] = dX [T·N, G·H] · W_ih [G·H, I]: one GEMM for every step.
    func inputGradient(shape: [Int], inputGateGrads dX: UnsafePointer<Scalar>) -> Tensor<Scalar> {
        let rows = shape[0] * shape[1], width = gateCount * hiddenSize
        return weightIH.value.withUnsafePointer { w in
            Tensor(shape: shape) { gx in
                Scalar.gemm(
                    transA: false, transB: false, m: rows, n: inputSize, k: width, alpha: 1, a: dX, lda: width,
                    b: w, ldb: inputSize, beta: 0, c: gx, ldc: inputSize)
            }
        }
    }
}

/// A block of scalars a layer reuses from call to call (caches and temporaries), so that
/// the step loops allocate nothing: it grows when needed, never shrinks, and is freed
/// with its owner. Its contents are undefined after `reserve` grows it.
final class ScratchBuffer<Scalar: TensorScalar> {
    private(set) var pointer: UnsafeMutablePointer<Scalar>
    private var capacity = 0

    init() { pointer = .allocate(capacity: 1) }
    deinit { pointer.deallocate() }

    /// A pointer to at least `count` scalars.
    func reserve(_ count: Int) -> UnsafeMutablePointer<Scalar> {
        if count > capacity {
            pointer.deallocate()
            pointer = .allocate(capacity: count)
            capacity = count
        }
        return pointer
    }
}
