import CKernels
import Foundation

/// The element-wise kernels of the recurrent family: one fused step of an RNN, LSTM or GRU
/// cell (forward and backward), embedding look-ups, batch-major ↔ time-major reordering,
/// and index conversion.
///
/// As with `TensorScalar`'s kernels, every loop over elements lives here, as a static
/// requirement with a default implementation that the compiler specializes for `Float`
/// and `Double`: generic layer code pays one call per kernel (per time step), never per
/// element. The dense parts of a recurrent layer (the input projection, the recurrent
/// product) are GEMMs; these kernels do everything between them in one pass each.
///
/// Layouts (row-major): a step's gates are `[N, G·H]`, each row holding the G gate blocks
/// of H units one after another in PyTorch's order (LSTM: i, f, g, o; GRU: r, z, n);
/// hidden and cell states are `[N, H]`.
public protocol RecurrentKernels {
    // MARK: primitives (per type)

    /// σ(x) = 1 / (1 + e⁻ˣ), written without calls so that loops over it vectorize (Float:
    /// a polynomial exp, absolute error within 2·10⁻⁷; Double: libm, exact to rounding, for
    /// gradient checks).
    static func cellSigmoid(_ x: Self) -> Self
    /// tanh(x), likewise (Float: a rational approximation, relative error within 4·10⁻⁷).
    static func cellTanh(_ x: Self) -> Self

    // MARK: RNN (tanh)

    /// In place, h = tanh(h + bias): h [N, H] holds x·W_ihᵀ + h_prev·W_hhᵀ, bias [H] is b_ih + b_hh.
    static func rnnForwardStep(_ h: UnsafeMutablePointer<Self>, bias: UnsafePointer<Self>, batch: Int, hiddenSize: Int)
    /// gradPre = (gradOutput + gradHidden) · (1 − h²): all `[N·H]`; `gradHidden` is ∂L/∂h_t
    /// arriving through the next step, `gradOutput` the part from the layer's output.
    static func rnnBackwardStep(
        hidden h: UnsafePointer<Self>, gradOutput: UnsafePointer<Self>,
        gradHidden: UnsafePointer<Self>, gradPre: UnsafeMutablePointer<Self>, count: Int)

    // MARK: LSTM (gates i, f, g, o)

    /// One LSTM step. gates [N, 4H]: x·W_ihᵀ + h_{t−1}·W_hhᵀ in, to which bias [4H] (b_ih + b_hh)
    /// is added; the activations (σ i, σ f, tanh g, σ o) out. cellPrev [N, H] is c_{t−1};
    /// writes cell c_t = f·c_{t−1} + i·g, tanhCell tanh(c_t) and hidden h_t = o·tanh(c_t), all [N, H].
    static func lstmForwardStep(
        gates: UnsafeMutablePointer<Self>, bias: UnsafePointer<Self>, cellPrev: UnsafePointer<Self>,
        cell: UnsafeMutablePointer<Self>, tanhCell: UnsafeMutablePointer<Self>,
        hidden: UnsafeMutablePointer<Self>, batch: Int, hiddenSize: Int)
    /// Backward through one LSTM step. gates [N, 4H] (activations), cellPrev, tanhCell,
    /// gradOutput (∂L/∂h_t from the output) and gradHidden (∂L/∂h_t through step t+1), all
    /// [N, H]. gradCell [N, H]: ∂L/∂c_t from step t+1 in, ∂L/∂c_{t−1} out. Writes
    /// gradGates [N, 4H], the gradient with respect to the gates' pre-activations.
    static func lstmBackwardStep(
        gates: UnsafePointer<Self>, cellPrev: UnsafePointer<Self>,
        tanhCell: UnsafePointer<Self>, gradOutput: UnsafePointer<Self>,
        gradHidden: UnsafePointer<Self>, gradCell: UnsafeMutablePointer<Self>,
        gradGates: UnsafeMutablePointer<Self>, batch: Int, hiddenSize: Int)

    // MARK: GRU (gates r, z, n; PyTorch's formula)

    /// One GRU step. gates [N, 3H]: the input projection x·W_ihᵀ (without bias) in, the
    /// activations (r, z, n) out. hiddenProjection [N, 3H] is h_{t−1}·W_hhᵀ (without bias);
    /// biasIH and biasHH [3H]. r = σ(x_r + b_ir + hp_r + b_hr), z = σ(x_z + b_iz + hp_z + b_hz),
    /// n = tanh(x_n + b_in + r·(hp_n + b_hn)), h_t = (1 − z)·n + z·h_{t−1}.
    /// Writes newGateHidden [N, H] = hp_n + b_hn (needed by backward) and hidden h_t [N, H].
    static func gruForwardStep(
        gates: UnsafeMutablePointer<Self>, biasIH: UnsafePointer<Self>, hiddenProjection: UnsafePointer<Self>,
        biasHH: UnsafePointer<Self>, hiddenPrev: UnsafePointer<Self>,
        newGateHidden: UnsafeMutablePointer<Self>, hidden: UnsafeMutablePointer<Self>,
        batch: Int, hiddenSize: Int)
    /// Backward through one GRU step. gates [N, 3H] (r, z, n), newGateHidden and hiddenPrev
    /// [N, H], gradOutput [N, H]. gradHidden [N, H]: ∂L/∂h_t through step t+1 in; out, the
    /// direct part of ∂L/∂h_{t−1} (dh·z), to which the caller adds gradHiddenGates·W_hh.
    /// Writes gradInputGates [N, 3H] (∂L/∂(x·W_ihᵀ + b_ih)) and gradHiddenGates [N, 3H]
    /// (∂L/∂(h·W_hhᵀ + b_hh)); they differ in the n block, which r scales.
    static func gruBackwardStep(
        gates: UnsafePointer<Self>, newGateHidden: UnsafePointer<Self>,
        hiddenPrev: UnsafePointer<Self>, gradOutput: UnsafePointer<Self>,
        gradHidden: UnsafeMutablePointer<Self>, gradInputGates: UnsafeMutablePointer<Self>,
        gradHiddenGates: UnsafeMutablePointer<Self>, batch: Int, hiddenSize: Int)

    // MARK: layout and indices

    /// y [b, a, inner] = x [a, b, inner] with the two leading axes swapped (batch-major ↔ time-major).
    static func swapLeadingAxes(_ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>, a: Int, b: Int, inner: Int)
    /// dst [n] = src [n] converted from integers (class or character indices to scalars).
    static func convertIndices(_ src: UnsafePointer<Int>, _ dst: UnsafeMutablePointer<Self>, _ n: Int)
    /// out [count, dimension] = table[indices[k]] for each k; table [rows, dimension].
    /// Returns the position k of the first index that is not an integer in 0..<rows (nothing
    /// is written from there on), or nil when all are valid.
    static func embeddingGather(
        indices: UnsafePointer<Self>, count: Int, table: UnsafePointer<Self>,
        rows: Int, dimension: Int, _ out: UnsafeMutablePointer<Self>
    ) -> Int?
    /// gradTable[indices[k]] += gradOutput[k] for each k (repeated indices accumulate);
    /// gradOutput [count, dimension], gradTable [rows, dimension]; indices already validated.
    static func embeddingScatterAdd(
        indices: UnsafePointer<Self>, count: Int, gradOutput: UnsafePointer<Self>,
        gradTable: UnsafeMutablePointer<Self>, dimension: Int)
}

// MARK: - Primitives for Float (vectorizable) and Double (libm, for gradient checks)

extension Float {
    /// eˣ as Cephes' expf: x = n·ln2 + r with |r| ≤ ln2/2, a degree-6 polynomial for eʳ,
    /// and 2ⁿ put into the exponent bits. No calls and no branches, so loops vectorize.
    /// Relative error within 2 ulps on [−87.3, 88]; saturates (no inf or NaN from overflow).
    @inline(__always)
    static func polynomialExp(_ x: Float) -> Float {
        var x = x > 88.0 ? 88.0 : x
        x = x < -87.33654 ? -87.33654 : x
        // round x·log₂e to the nearest integer by adding and removing 1.5·2²³
        let shifted = x * 1.442695040888963 + 12_582_912.0
        let n = shifted - 12_582_912.0
        let r = (x - n * 0.693359375) + n * 2.12194440e-4 // x − n·ln2 in two parts
        let z = r * r
        var p: Float = 1.9875691500e-4
        p = p * r + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        p = p * z + r + 1
        // the integer n sits in the low mantissa bits of `shifted`: 2ⁿ = (n + 127) << 23
        let exponent = (Int32(bitPattern: shifted.bitPattern) &- 0x4B40_0000 &+ 127) &<< 23
        return p * Float(bitPattern: UInt32(bitPattern: exponent))
    }

    @inline(__always)
    public static func cellSigmoid(_ x: Float) -> Float { 1 / (1 + polynomialExp(-x)) }

    /// tanh as a rational function (Eigen's `generic_fast_tanh_float`): an odd degree-13
    /// polynomial over an even degree-6 one on x clamped to ±7.9 (where tanh rounds to ±1),
    /// x itself below 4·10⁻⁴. One division and no exp, so it costs about half of an exp-based
    /// tanh; relative error within 4·10⁻⁷.
    @inline(__always)
    public static func cellTanh(_ x: Float) -> Float {
        var c = x > 7.9053111 ? 7.9053111 : x
        c = c < -7.9053111 ? -7.9053111 : c
        let z = c * c
        var p: Float = -2.76076847742355e-16
        p = p * z + 2.00018790482477e-13
        p = p * z - 8.60467152213735e-11
        p = p * z + 5.12229709037114e-08
        p = p * z + 1.48572235717979e-05
        p = p * z + 6.37261928875436e-04
        p = p * z + 4.89352455891786e-03
        var q: Float = 1.19825839466702e-06
        q = q * z + 1.18534705686654e-04
        q = q * z + 2.26843463243900e-03
        q = q * z + 4.89352518554385e-03
        let r = c * p / q
        return x.magnitude < 0.0004 ? x : r
    }
}

extension Double {
    @inline(__always)
    public static func cellSigmoid(_ x: Double) -> Double { 1 / (1 + Foundation.exp(-x)) }
    @inline(__always)
    public static func cellTanh(_ x: Double) -> Double { Foundation.tanh(x) }
}

// MARK: - Kernels, written once, specialized per conformance

extension RecurrentKernels where Self: TensorScalar {
    // h [N, H], bias [H]
    public static func rnnForwardStep(_ h: UnsafeMutablePointer<Self>, bias: UnsafePointer<Self>, batch: Int, hiddenSize: Int) {
        for n in 0..<batch {
            let row = h + n * hiddenSize
            for j in 0..<hiddenSize { row[j] = cellTanh(row[j] + bias[j]) }
        }
    }

    public static func rnnBackwardStep(
        hidden h: UnsafePointer<Self>, gradOutput: UnsafePointer<Self>,
        gradHidden: UnsafePointer<Self>, gradPre: UnsafeMutablePointer<Self>, count: Int
    ) {
        for i in 0..<count { gradPre[i] = (gradOutput[i] + gradHidden[i]) * (1 - h[i] * h[i]) }
    }

    // gates [N, 4H] (i, f, g, o), bias [4H], cellPrev / cell / tanhCell / hidden [N, H]
    public static func lstmForwardStep(
        gates: UnsafeMutablePointer<Self>, bias: UnsafePointer<Self>, cellPrev: UnsafePointer<Self>,
        cell: UnsafeMutablePointer<Self>, tanhCell: UnsafeMutablePointer<Self>,
        hidden: UnsafeMutablePointer<Self>, batch: Int, hiddenSize: Int
    ) {
        let h = hiddenSize
        for n in 0..<batch {
            let i = gates + n * 4 * h, f = i + h, g = f + h, o = g + h
            // activations in place, one gate block at a time (each loop touches one array)
            let bg = bias + 2 * h, bo = bias + 3 * h
            for j in 0..<(2 * h) { i[j] = cellSigmoid(i[j] + bias[j]) } // i and f are adjacent
            for j in 0..<h { g[j] = cellTanh(g[j] + bg[j]) }
            for j in 0..<h { o[j] = cellSigmoid(o[j] + bo[j]) }
            let cp = cellPrev + n * h, c = cell + n * h
            for j in 0..<h { c[j] = f[j] * cp[j] + i[j] * g[j] }
            let tc = tanhCell + n * h, y = hidden + n * h
            for j in 0..<h { tc[j] = cellTanh(c[j]) }
            for j in 0..<h { y[j] = o[j] * tc[j] }
        }
    }

    // gates / gradGates [N, 4H], the rest [N, H]
    //
    // Each loop writes one array (and reads a few): the compiler then proves cheaply that
    // the arrays do not overlap and vectorizes every loop.
    public static func lstmBackwardStep(
        gates: UnsafePointer<Self>, cellPrev: UnsafePointer<Self>,
        tanhCell: UnsafePointer<Self>, gradOutput: UnsafePointer<Self>,
        gradHidden: UnsafePointer<Self>, gradCell: UnsafeMutablePointer<Self>,
        gradGates: UnsafeMutablePointer<Self>, batch: Int, hiddenSize: Int
    ) {
        let h = hiddenSize
        for n in 0..<batch {
            let i = gates + n * 4 * h, f = i + h, g = f + h, o = g + h
            let di = gradGates + n * 4 * h, df = di + h, dg = df + h, d_o = dg + h
            let cp = cellPrev + n * h, tc = tanhCell + n * h
            let gy = gradOutput + n * h, gh = gradHidden + n * h, dc = gradCell + n * h
            // dh = ∂L/∂h_t, from the output and through step t+1 (kept in d_o for now)
            for j in 0..<h { d_o[j] = gy[j] + gh[j] }
            // ∂L/∂c_t: through h_t = o·tanh(c_t), plus what step t+1 sent back
            for j in 0..<h { dc[j] += d_o[j] * o[j] * (1 - tc[j] * tc[j]) }
            // the output gate: ∂h/∂o = tanh(c_t), σ' = o (1 − o)
            for j in 0..<h { d_o[j] = d_o[j] * tc[j] * o[j] * (1 - o[j]) }
            // c_t = f·c_{t−1} + i·g
            for j in 0..<h { di[j] = dc[j] * g[j] * i[j] * (1 - i[j]) }
            for j in 0..<h { df[j] = dc[j] * cp[j] * f[j] * (1 - f[j]) }
            for j in 0..<h { dg[j] = dc[j] * i[j] * (1 - g[j] * g[j]) }
            for j in 0..<h { dc[j] *= f[j] } // ∂L/∂c_{t−1}
        }
    }

    // gates / hiddenProjection [N, 3H] (r, z, n), biasIH / biasHH [3H], the rest [N, H]
    public static func gruForwardStep(
        gates: UnsafeMutablePointer<Self>, biasIH: UnsafePointer<Self>, hiddenProjection: UnsafePointer<Self>,
        biasHH: UnsafePointer<Self>, hiddenPrev: UnsafePointer<Self>,
        newGateHidden: UnsafeMutablePointer<Self>, hidden: UnsafeMutablePointer<Self>,
        batch: Int, hiddenSize: Int
    ) {
        let h = hiddenSize
        for n in 0..<batch {
            let g = gates + n * 3 * h, hp = hiddenProjection + n * 3 * h
            // r and z are adjacent blocks: σ(x + hp + b) over 2H
            for j in 0..<(2 * h) { g[j] = cellSigmoid(g[j] + biasIH[j] + hp[j] + biasHH[j]) }
            let r = g, z = g + h, gn = g + 2 * h
            let hn = newGateHidden + n * h, hpn = hp + 2 * h, bhn = biasHH + 2 * h, bin = biasIH + 2 * h
            for j in 0..<h { hn[j] = hpn[j] + bhn[j] }
            for j in 0..<h { gn[j] = cellTanh(gn[j] + bin[j] + r[j] * hn[j]) }
            let prev = hiddenPrev + n * h, y = hidden + n * h
            for j in 0..<h { y[j] = gn[j] + z[j] * (prev[j] - gn[j]) } // (1 − z)·n + z·h
        }
    }

    // gates / gradInputGates / gradHiddenGates [N, 3H], the rest [N, H]
    // (one array written per loop, as in lstmBackwardStep)
    public static func gruBackwardStep(
        gates: UnsafePointer<Self>, newGateHidden: UnsafePointer<Self>,
        hiddenPrev: UnsafePointer<Self>, gradOutput: UnsafePointer<Self>,
        gradHidden: UnsafeMutablePointer<Self>, gradInputGates: UnsafeMutablePointer<Self>,
        gradHiddenGates: UnsafeMutablePointer<Self>, batch: Int, hiddenSize: Int
    ) {
        let h = hiddenSize
        for n in 0..<batch {
            let r = gates + n * 3 * h, z = r + h, gn = z + h
            let dxr = gradInputGates + n * 3 * h, dxz = dxr + h, dxn = dxz + h
            let dhr = gradHiddenGates + n * 3 * h, dhn = dhr + 2 * h
            let hn = newGateHidden + n * h, prev = hiddenPrev + n * h
            let gy = gradOutput + n * h, dh = gradHidden + n * h
            // dh = ∂L/∂h_t, from the output and through step t+1
            for j in 0..<h { dh[j] += gy[j] }
            // h_t = (1 − z)·n + z·h_{t−1}; n = tanh(…), so tanh' = 1 − n²
            for j in 0..<h { dxn[j] = dh[j] * (1 - z[j]) * (1 - gn[j] * gn[j]) }
            for j in 0..<h { dxz[j] = dh[j] * (prev[j] - gn[j]) * z[j] * (1 - z[j]) }
            // n's pre-activation holds r·(W_hn h + b_hn)
            for j in 0..<h { dxr[j] = dxn[j] * hn[j] * r[j] * (1 - r[j]) }
            // the W_hh side: the same r and z blocks, and the n block scaled by r
            copy(dxr, dhr, 2 * h)
            for j in 0..<h { dhn[j] = dxn[j] * r[j] }
            for j in 0..<h { dh[j] *= z[j] } // direct path h_{t−1} → h_t
        }
    }

    // x [a, b, inner] → y [b, a, inner]
    public static func swapLeadingAxes(_ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>, a: Int, b: Int, inner: Int) {
        for i in 0..<a {
            for j in 0..<b { copy(x + (i * b + j) * inner, y + (j * a + i) * inner, inner) }
        }
    }

    public static func convertIndices(_ src: UnsafePointer<Int>, _ dst: UnsafeMutablePointer<Self>, _ n: Int) {
        for i in 0..<n { dst[i] = Self(src[i]) }
    }

    // indices [count], table [rows, dimension] → out [count, dimension]
    public static func embeddingGather(
        indices: UnsafePointer<Self>, count: Int, table: UnsafePointer<Self>,
        rows: Int, dimension: Int, _ out: UnsafeMutablePointer<Self>
    ) -> Int? {
        for k in 0..<count {
            let x = indices[k]
            guard x >= 0 && x < Self(rows) && x == x.rounded(.towardZero) else { return k }
            copy(table + Int(x) * dimension, out + k * dimension, dimension)
        }
        return nil
    }

    // gradOutput [count, dimension] scattered into gradTable [rows, dimension]
    public static func embeddingScatterAdd(
        indices: UnsafePointer<Self>, count: Int, gradOutput: UnsafePointer<Self>,
        gradTable: UnsafeMutablePointer<Self>, dimension: Int
    ) {
        for k in 0..<count {
            let src = gradOutput + k * dimension, dst = gradTable + Int(indices[k]) * dimension
            for j in 0..<dimension { dst[j] += src[j] }
        }
    }
}

/// `Float`'s LSTM step kernels: the same arithmetic as the generic ones in
/// `RecurrentKernels`, as vectorised C (sigmoid and tanh of the gates dominate an LSTM
/// step after its GEMMs).
extension Float {
    public static func lstmForwardStep(
        gates: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, cellPrev: UnsafePointer<Float>,
        cell: UnsafeMutablePointer<Float>, tanhCell: UnsafeMutablePointer<Float>,
        hidden: UnsafeMutablePointer<Float>, batch: Int, hiddenSize h: Int
    ) {
        // split over the batch (rows are independent) only for large steps: below 64K gate
        // units the wake-up of a second thread costs more than it saves
        Threads.parallelFor(batch, costPerItem: 4 * h, minimumWork: 1 << 16) { r in
            let o = r.lowerBound
            bp_lstm_forward_f32(
                gates + o * 4 * h, bias, cellPrev + o * h, cell + o * h, tanhCell + o * h,
                hidden + o * h, r.count, h)
        }
    }

    public static func lstmBackwardStep(
        gates: UnsafePointer<Float>, cellPrev: UnsafePointer<Float>,
        tanhCell: UnsafePointer<Float>, gradOutput: UnsafePointer<Float>,
        gradHidden: UnsafePointer<Float>, gradCell: UnsafeMutablePointer<Float>,
        gradGates: UnsafeMutablePointer<Float>, batch: Int, hiddenSize h: Int
    ) {
        Threads.parallelFor(batch, costPerItem: 4 * h, minimumWork: 1 << 16) { r in
            let o = r.lowerBound
            bp_lstm_backward_f32(
                gates + o * 4 * h, cellPrev + o * h, tanhCell + o * h, gradOutput + o * h,
                gradHidden + o * h, gradCell + o * h, gradGates + o * 4 * h, r.count, h)
        }
    }
}
