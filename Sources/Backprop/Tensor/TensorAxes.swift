// Operations along one axis of a tensor: concatenation, splitting and slicing (all of them
// copies, never views), and the element-wise sign. Their loops are the `AxisKernels`
// below, which `TensorScalar` inherits. The branching containers (`Concat`, `Parallel`)
// are built on them.

/// The element loops of the axis operations (see `Tensor.concatenated(_:along:)`,
/// `split(sizes:along:)`, `slice(_:along:)` and `sign()`), with generic defaults that the
/// compiler specializes for `Float` and `Double`.
///
/// Along an axis, a row-major tensor of shape `[A…, n, B…]` is a matrix
/// `[outer, n · inner]` (outer = ∏A, inner = ∏B): a slab of it along the axis is a block of
/// columns, so each of these operations is a strided copy of blocks.
public protocol AxisKernels {
    /// Copies `rows` blocks of `width` elements: row r of `src` (which starts at
    /// `src + r · srcStride`) to `dst + r · dstStride`. Source and destination must not overlap.
    /// src [rows, srcStride] (its first `width` columns), dst [rows, dstStride] (likewise).
    static func copyRows(
        _ src: UnsafePointer<Self>, srcStride: Int,
        _ dst: UnsafeMutablePointer<Self>, dstStride: Int, width: Int, rows: Int)
    /// y[i] = sign(x[i]): 1 if x > 0, −1 if x < 0, x itself otherwise (0 stays 0, −0 stays
    /// −0, NaN stays NaN), as `torch.sign`. x [n], y [n]; y may alias x.
    static func sign(_ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>, _ n: Int)
}

extension AxisKernels where Self: TensorScalar {
    // src [rows, srcStride] → dst [rows, dstStride], `width` columns of each row
    public static func copyRows(
        _ src: UnsafePointer<Self>, srcStride: Int,
        _ dst: UnsafeMutablePointer<Self>, dstStride: Int, width: Int, rows: Int
    ) {
        guard width > 0 else { return }
        if srcStride == width && dstStride == width {
            copy(src, dst, rows * width)
            return
        }
        for r in 0..<rows { copy(src + r * srcStride, dst + r * dstStride, width) }
    }

    // x [n] → y [n]
    public static func sign(_ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>, _ n: Int) {
        for i in 0..<n {
            let v = x[i]
            y[i] = v > 0 ? 1 : (v < 0 ? -1 : v)
        }
    }
}

extension Tensor {
    /// `axis` as an index into `shape`, for an axis in `-rank..<rank` (negative axes count
    /// from the end, as in PyTorch: −1 is the last axis). `what` names the caller in the
    /// message of a bad axis.
    func normalizedAxis(_ axis: Int, _ what: String) -> Int {
        require(axis >= -rank && axis < rank, "\(what): axis \(axis) is out of range for shape \(shape) (rank \(rank))")
        return axis < 0 ? axis + rank : axis
    }

    /// The sizes (outer, n, inner) of the tensor seen as `[outer, n, inner]` around `axis`.
    func axisSplit(_ axis: Int) -> (outer: Int, n: Int, inner: Int) {
        (shape[..<axis].reduce(1, *), shape[axis], shape[(axis + 1)...].reduce(1, *))
    }

    /// The tensors joined end to end along `axis` (a copy), as `torch.cat(tensors, dim)`.
    ///
    /// Shapes `[A…, nᵢ, B…]` give `[A…, Σnᵢ, B…]`: every other axis must match. `axis` may be
    /// negative (−1 is the last axis). Along axis 0 of `[2, 3]` and `[4, 3]`: `[6, 3]`, the
    /// rows of the first, then those of the second.
    public static func concatenated(_ tensors: [Tensor], along axis: Int) -> Tensor {
        require(!tensors.isEmpty, "Tensor.concatenated(_:along: \(axis)): no tensors to concatenate")
        let first = tensors[0]
        let a = first.normalizedAxis(axis, "Tensor.concatenated(_:along:)")
        for (i, t) in tensors.enumerated() {
            var s = t.shape, f = first.shape
            let sameRank = s.count == f.count
            if sameRank { s[a] = 0; f[a] = 0 }
            require(
                sameRank && s == f,
                "Tensor.concatenated(_:along: \(axis)): tensor \(i) has shape \(t.shape) but tensor 0 has shape \(first.shape); all axes but \(a) must match (shapes \(tensors.map(\.shape)))"
            )
        }
        if tensors.count == 1 { return first }
        let (outer, _, inner) = first.axisSplit(a)
        let total = tensors.reduce(0) { $0 + $1.shape[a] }
        var shape = first.shape
        shape[a] = total
        // each tensor i is a [outer, nᵢ·inner] block of the output [outer, total·inner], at column Σ_{j<i} nⱼ·inner
        return Tensor(shape: shape) { out in
            var column = 0
            for t in tensors {
                let width = t.shape[a] * inner
                t.withUnsafePointer { src in
                    Scalar.copyRows(src, srcStride: width, out + column, dstStride: total * inner, width: width, rows: outer)
                }
                column += width
            }
        }
    }

    /// The elements with index in `range` along `axis`, as a new tensor (a copy, not a view:
    /// changing it leaves `self` alone), as `x.narrow(dim, start, length)` (then `.clone()`).
    ///
    /// `[A…, n, B…]` gives `[A…, range.count, B…]`; `range` must lie in `0...n`, and `axis` may
    /// be negative (−1 is the last axis).
    public func slice(_ range: Range<Int>, along axis: Int) -> Tensor {
        let a = normalizedAxis(axis, "Tensor.slice(_:along:)")
        require(
            range.lowerBound >= 0 && range.upperBound <= shape[a],
            "Tensor.slice(\(range), along: \(axis)): range out of bounds for size \(shape[a]) of axis \(a) in shape \(shape)")
        let (outer, n, inner) = axisSplit(a)
        var newShape = shape
        newShape[a] = range.count
        let width = range.count * inner
        // rows of the [outer, n·inner] matrix, columns lowerBound·inner ..< upperBound·inner
        return withUnsafePointer { src in
            Tensor(shape: newShape) { dst in
                Scalar.copyRows(src + range.lowerBound * inner, srcStride: n * inner, dst, dstStride: width, width: width, rows: outer)
            }
        }
    }

    /// Consecutive pieces along `axis` of the given sizes (copies, not views), as
    /// `torch.split(x, sizes, dim)`: piece i is `slice(start_i ..< start_i + sizes[i], along: axis)`.
    ///
    /// `[A…, n, B…]` gives `[A…, sizes[i], B…]` for each i; the sizes must be ≥ 0 and sum to n.
    /// `axis` may be negative (−1 is the last axis). `concatenated(split(sizes:along:), along:)`
    /// is the tensor again.
    public func split(sizes: [Int], along axis: Int) -> [Tensor] {
        let a = normalizedAxis(axis, "Tensor.split(sizes:along:)")
        require(
            sizes.allSatisfy { $0 >= 0 } && sizes.reduce(0, +) == shape[a],
            "Tensor.split(sizes: \(sizes), along: \(axis)): the sizes must be non-negative and sum to \(shape[a]), the size of axis \(a) in shape \(shape)"
        )
        var start = 0
        return sizes.map { size in
            defer { start += size }
            return slice(start..<start + size, along: a)
        }
    }

    /// Element-wise sign, as `torch.sign`: 1 where x > 0, −1 where x < 0, 0 where x is 0
    /// (NaN stays NaN). Same shape.
    public func sign() -> Tensor { mapped { Scalar.sign($0, $1, $2) } }
}
