/// An n-dimensional array of `Float` or `Double`: row-major, contiguous, with value
/// semantics (copy-on-write, like `Array`, whose storage it uses).
///
/// ```swift
/// var x = Tensor<Float>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
/// let y = x.reshaped([3, 2])          // free: same scalars, new shape
/// x[1, 2] = 0                         // copies x's storage first; y is unchanged
/// ```
///
/// Element loops are never written here: they are `TensorScalar` kernels, specialized
/// for each scalar type.
public struct Tensor<Scalar: TensorScalar>: Equatable {
    /// The extent of each axis, outermost first.
    public private(set) var shape: [Int]
    /// The elements in row-major order.
    public var scalars: [Scalar]

    /// A tensor of the given shape holding `scalars` in row-major order.
    public init(shape: [Int], scalars: [Scalar]) {
        require(shape.allSatisfy { $0 >= 0 }, "Tensor: shape \(shape) has a negative extent")
        require(
            shape.reduce(1, *) == scalars.count,
            "Tensor: shape \(shape) holds \(shape.reduce(1, *)) elements but \(scalars.count) scalars were given")
        self.shape = shape
        self.scalars = scalars
    }

    /// A rank-1 tensor of the given scalars.
    public init(_ scalars: [Scalar]) { self.init(shape: [scalars.count], scalars: scalars) }

    /// A matrix from its rows (all of the same length).
    public init(rows: [[Scalar]]) {
        let cols = rows.first?.count ?? 0
        require(rows.allSatisfy { $0.count == cols }, "Tensor(rows:): rows have different lengths")
        self.init(shape: [rows.count, cols], scalars: rows.flatMap { $0 })
    }

    /// A tensor with every element equal to `value`.
    public init(repeating value: Scalar, shape: [Int]) {
        self.init(shape: shape) { Scalar.fill($0, value, shape.reduce(1, *)) }
    }

    /// All zeros.
    public static func zeros(_ shape: [Int]) -> Tensor { Tensor(repeating: 0, shape: shape) }
    /// All ones.
    public static func ones(_ shape: [Int]) -> Tensor { Tensor(repeating: 1, shape: shape) }

    /// A tensor whose elements are *not* initialised: only for outputs that a kernel
    /// overwrites completely (a GEMM with beta = 0, an element-wise map).
    public init(uninitialized shape: [Int]) {
        let n = shape.reduce(1, *)
        self.shape = shape
        self.scalars = Array(unsafeUninitializedCapacity: n) { _, count in count = n }
    }

    /// A tensor of the given shape computed by `body`, which must write every element.
    public init(shape: [Int], overwriting body: (UnsafeMutablePointer<Scalar>) -> Void) {
        self.init(uninitialized: shape)
        scalars.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
    }

    // MARK: shape

    /// Number of elements.
    public var count: Int { scalars.count }
    /// Number of axes.
    public var rank: Int { shape.count }

    /// The same elements with a new shape; one extent may be `-1` (inferred).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var result = self
        result.reshape(newShape)
        return result
    }

    /// Gives the tensor a new shape with the same number of elements (one extent may be `-1`).
    public mutating func reshape(_ newShape: [Int]) {
        var resolved = newShape
        if let hole = newShape.firstIndex(of: -1) {
            let known = newShape.enumerated().filter { $0.offset != hole }.map(\.element).reduce(1, *)
            require(
                known > 0 && count % known == 0,
                "reshape: cannot reshape \(shape) (\(count) elements) to \(newShape)")
            resolved[hole] = count / known
        }
        require(
            resolved.reduce(1, *) == count,
            "reshape: cannot reshape \(shape) (\(count) elements) to \(newShape)")
        shape = resolved
    }

    /// The tensor seen as a matrix: all leading axes folded into rows, the last axis as columns.
    public var matrixShape: (rows: Int, cols: Int) {
        let cols = shape.last ?? 1
        return (cols == 0 ? 0 : count / cols, cols)
    }

    // MARK: element access

    @inline(__always) func flatIndex(_ indices: [Int]) -> Int {
        require(indices.count == shape.count, "Tensor subscript: \(indices.count) indices for shape \(shape)")
        var flat = 0
        for (axis, i) in indices.enumerated() {
            require(i >= 0 && i < shape[axis], "Tensor subscript: index \(indices) out of range for shape \(shape)")
            flat = flat * shape[axis] + i
        }
        return flat
    }

    /// The element at the given index (one integer per axis).
    public subscript(_ indices: Int...) -> Scalar {
        get { scalars[flatIndex(indices)] }
        set { scalars[flatIndex(indices)] = newValue }
    }

    /// Rows `range` of the first axis (a mini-batch slice); a copy.
    public subscript(rows range: Range<Int>) -> Tensor {
        require(
            rank >= 1 && range.lowerBound >= 0 && range.upperBound <= shape[0],
            "Tensor rows: range \(range) is outside the first axis of shape \(shape)")
        let stride = shape[0] == 0 ? 0 : count / shape[0]
        var newShape = shape
        newShape[0] = range.count
        return withUnsafePointer { src in
            Tensor(shape: newShape) { Scalar.copy(src + range.lowerBound * stride, $0, range.count * stride) }
        }
    }

    /// The rows of the first axis at `indices`, in that order (a shuffled mini-batch).
    public func gathering(rows indices: [Int]) -> Tensor {
        require(rank >= 1, "gathering(rows:): a scalar tensor has no rows")
        let stride = shape[0] == 0 ? 0 : count / shape[0]
        var newShape = shape
        newShape[0] = indices.count
        return Tensor(shape: newShape) { out in
            scalars.withUnsafeBufferPointer { src in
                for (k, i) in indices.enumerated() {
                    require(i >= 0 && i < shape[0], "gathering(rows:): row \(i) outside shape \(shape)")
                    Scalar.copy(src.baseAddress! + i * stride, out + k * stride, stride)
                }
            }
        }
    }

    /// Calls `body` with a pointer to the elements.
    @inline(__always)
    public func withUnsafePointer<R>(_ body: (UnsafePointer<Scalar>) throws -> R) rethrows -> R {
        try scalars.withUnsafeBufferPointer { try body($0.baseAddress ?? UnsafePointer(bitPattern: 8)!) }
    }

    /// Calls `body` with a mutable pointer to the elements (copying shared storage first).
    @inline(__always)
    public mutating func withUnsafeMutablePointer<R>(_ body: (UnsafeMutablePointer<Scalar>) throws -> R) rethrows -> R {
        try scalars.withUnsafeMutableBufferPointer { try body($0.baseAddress ?? UnsafeMutablePointer(bitPattern: 8)!) }
    }

    /// A tensor of the same shape, `out = f(self)` by a kernel `f(input, output, n)`.
    @inline(__always)
    public func mapped(_ kernel: (UnsafePointer<Scalar>, UnsafeMutablePointer<Scalar>, Int) -> Void) -> Tensor {
        withUnsafePointer { x in Tensor(shape: shape) { y in kernel(x, y, count) } }
    }

    /// A tensor of the same shape, `out = f(self, other)` by a kernel `f(a, b, output, n)`.
    @inline(__always)
    public func zipped(
        with other: Tensor, _ what: String,
        _ kernel: (UnsafePointer<Scalar>, UnsafePointer<Scalar>, UnsafeMutablePointer<Scalar>, Int) -> Void
    ) -> Tensor {
        require(shape == other.shape, "\(what): shapes \(shape) and \(other.shape) differ")
        return withUnsafePointer { a in other.withUnsafePointer { b in Tensor(shape: shape) { kernel(a, b, $0, count) } } }
    }
}

// MARK: - Arithmetic

extension Tensor {
    public static func + (a: Tensor, b: Tensor) -> Tensor { a.zipped(with: b, "+", Scalar.add) }
    public static func - (a: Tensor, b: Tensor) -> Tensor { a.zipped(with: b, "-", Scalar.sub) }
    /// Element-wise (Hadamard) product.
    public static func * (a: Tensor, b: Tensor) -> Tensor { a.zipped(with: b, "*", Scalar.mul) }
    public static func / (a: Tensor, b: Tensor) -> Tensor { a.zipped(with: b, "/", Scalar.div) }

    public static func + (a: Tensor, s: Scalar) -> Tensor { a.mapped { Scalar.affine($0, 1, s, $1, $2) } }
    public static func - (a: Tensor, s: Scalar) -> Tensor { a.mapped { Scalar.affine($0, 1, -s, $1, $2) } }
    public static func * (a: Tensor, s: Scalar) -> Tensor { a.mapped { Scalar.affine($0, s, 0, $1, $2) } }
    public static func / (a: Tensor, s: Scalar) -> Tensor { a * (1 / s) }
    public static func * (s: Scalar, a: Tensor) -> Tensor { a * s }
    public static func + (s: Scalar, a: Tensor) -> Tensor { a + s }
    public static func - (s: Scalar, a: Tensor) -> Tensor { a.mapped { Scalar.affine($0, -1, s, $1, $2) } }
    public static prefix func - (a: Tensor) -> Tensor { a * -1 }

    public static func += (a: inout Tensor, b: Tensor) { a.add(b) }
    public static func -= (a: inout Tensor, b: Tensor) { a.add(b, scaledBy: -1) }
    public static func *= (a: inout Tensor, s: Scalar) { a.scale(by: s) }

    /// self += alpha · other (BLAS axpy), in place.
    public mutating func add(_ other: Tensor, scaledBy alpha: Scalar = 1) {
        require(shape == other.shape, "add: shapes \(shape) and \(other.shape) differ")
        let n = count
        other.withUnsafePointer { x in withUnsafeMutablePointer { y in Scalar.axpy(n, alpha, x, y) } }
    }

    /// self *= alpha, in place.
    public mutating func scale(by alpha: Scalar) {
        let n = count
        withUnsafeMutablePointer { Scalar.scal(n, alpha, $0) }
    }

    /// Sets every element to zero, keeping the shape.
    public mutating func zero() {
        let n = count
        withUnsafeMutablePointer { Scalar.fill($0, 0, n) }
    }

    /// Adds a bias vector `[last]` to every row: self `[..., last]` + v `[last]`.
    public func addingRowVector(_ v: Tensor) -> Tensor {
        var out = self
        out.addRowVector(v)
        return out
    }

    /// In place: self `[..., last]` += v `[last]`.
    public mutating func addRowVector(_ v: Tensor) {
        let (rows, cols) = matrixShape
        require(v.count == cols, "addRowVector: vector of shape \(v.shape) does not match the last axis of \(shape)")
        v.withUnsafePointer { vp in withUnsafeMutablePointer { Scalar.addRowVector($0, vp, rows: rows, cols: cols) } }
    }

    /// Element-wise square.
    public func squared() -> Tensor { self * self }
}

// MARK: - Reductions

extension Tensor {
    /// Sum of all elements.
    public func sum() -> Scalar { withUnsafePointer { Scalar.sum($0, count) } }
    /// Mean of all elements.
    public func mean() -> Scalar { count == 0 ? 0 : sum() / Scalar(count) }
    /// Σ x², the squared Euclidean norm.
    public func sumOfSquares() -> Scalar { withUnsafePointer { Scalar.sumOfSquares($0, count) } }
    /// Largest absolute value.
    public func maxAbs() -> Scalar { withUnsafePointer { Scalar.maxAbs($0, count) } }

    /// Sums along `axis`, which disappears from the shape (`[2, 3]` summed along 0 is `[3]`).
    public func sum(alongAxis axis: Int) -> Tensor {
        require(axis >= 0 && axis < rank, "sum(alongAxis:): axis \(axis) out of range for shape \(shape)")
        let outer = shape[..<axis].reduce(1, *), n = shape[axis], inner = shape[(axis + 1)...].reduce(1, *)
        var newShape = shape
        newShape.remove(at: axis)
        return withUnsafePointer { x in
            Tensor(shape: newShape) { y in
                for o in 0..<outer {
                    // the slab x[o, :, :] is a [n, inner] matrix: sum its rows
                    Scalar.columnSums(x + o * n * inner, rows: n, cols: inner, y + o * inner, accumulate: false)
                }
            }
        }
    }

    /// Means along `axis`, which disappears from the shape.
    public func mean(alongAxis axis: Int) -> Tensor {
        sum(alongAxis: axis) * (1 / Scalar(Swift.max(shape[axis], 1)))
    }

    /// The index of the largest element along the last axis, for each row (`[N, C]` → N indices).
    public func argmax() -> [Int] {
        let (rows, cols) = matrixShape
        return withUnsafePointer { Scalar.argmaxRows($0, rows: rows, cols: cols) }
    }
}

// MARK: - Matrix products

extension Tensor {
    /// C = alpha · op(a) · op(b) + beta · C through one CBLAS GEMM, where op transposes
    /// by flag (nothing is copied). `a` and `b` are read as matrices (`matrixShape`);
    /// `c` must already have the product's `[rows, cols]` element count.
    ///
    /// a `[m, k]` (or `[k, m]` transposed), b `[k, n]` (or `[n, k]` transposed), c `[m, n]`.
    public static func gemm(
        _ a: Tensor, _ b: Tensor, transposeA transA: Bool = false, transposeB transB: Bool = false,
        alpha: Scalar = 1, beta: Scalar = 0, into c: inout Tensor
    ) {
        let (ar, ac) = a.matrixShape, (br, bc) = b.matrixShape
        let (m, k) = transA ? (ac, ar) : (ar, ac)
        let (kb, n) = transB ? (bc, br) : (br, bc)
        require(
            k == kb,
            "gemm: inner dimensions differ: op(a) is [\(m), \(k)] (a \(a.shape)\(transA ? "ᵀ" : "")), op(b) is [\(kb), \(n)] (b \(b.shape)\(transB ? "ᵀ" : ""))"
        )
        require(c.count == m * n, "gemm: output of shape \(c.shape) cannot hold the [\(m), \(n)] product")
        if m == 0 || n == 0 { return }
        if k == 0 { if beta == 0 { c.zero() } else { c.scale(by: beta) }; return }
        a.withUnsafePointer { ap in
            b.withUnsafePointer { bp in
                c.withUnsafeMutablePointer { cp in
                    Scalar.gemm(
                        transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                        a: ap, lda: ac, b: bp, ldb: bc, beta: beta, c: cp, ldc: n)
                }
            }
        }
    }

    /// The matrix product op(a) · op(b) as a new `[m, n]` tensor.
    public static func matmul(_ a: Tensor, _ b: Tensor, transposeA transA: Bool = false, transposeB transB: Bool = false) -> Tensor {
        let m = transA ? a.matrixShape.cols : a.matrixShape.rows
        let n = transB ? b.matrixShape.rows : b.matrixShape.cols
        var c = Tensor(uninitialized: [m, n])
        if (transA ? a.matrixShape.rows : a.matrixShape.cols) == 0 { c.zero() }
        gemm(a, b, transposeA: transA, transposeB: transB, into: &c)
        return c
    }

    /// The transpose of a matrix (a copy; products never need it, use the flags instead).
    public func transposed() -> Tensor {
        require(rank == 2, "transposed(): expects a matrix, got shape \(shape)")
        let (r, c) = (shape[0], shape[1])
        return withUnsafePointer { x in
            Tensor(shape: [c, r]) { y in for i in 0..<r { for j in 0..<c { y[j * r + i] = x[i * c + j] } } }
        }
    }
}

// MARK: - Description

extension Tensor: CustomStringConvertible {
    /// Torch-style: the values (nested by axis, abbreviated when large) then the type and shape.
    public var description: String {
        func format(_ x: Scalar) -> String {
            let d = Double(x)
            if d == d.rounded() && abs(d) < 1e6 { return String(format: "%.0f", d) }
            return String(format: abs(d) >= 1e4 || (abs(d) < 1e-3 && d != 0) ? "%.4e" : "%.4f", d)
        }
        func render(_ axis: Int, _ offset: Int) -> String {
            if axis == rank { return format(scalars[offset]) }
            let n = shape[axis], stride = shape[(axis + 1)...].reduce(1, *)
            let shown: [Int] = n > 8 ? Array(0..<3) + [-1] + Array(n - 3..<n) : Array(0..<n)
            let parts = shown.map { $0 < 0 ? "..." : render(axis + 1, offset + $0 * stride) }
            let separator = axis == rank - 1 ? ", " : ",\n" + String(repeating: " ", count: axis + 1)
            return "[" + parts.joined(separator: separator) + "]"
        }
        let body = count == 0 ? "[]" : render(0, 0)
        return body + "\n[Tensor<\(Scalar.self)> of shape \(shape)]"
    }
}

import Foundation
