// Principal component analysis through LAPACK's symmetric eigensolver (shipped inside
// OpenBLAS), and principal angles between subspaces: the tools to see that a linear
// autoencoder learns the principal subspace.

import COpenBLAS

/// LAPACK's symmetric eigensolver, per scalar type (the one LAPACK call of the library).
public protocol SymmetricEigenKernels {

    /// Eigen-decomposition of the symmetric matrix a [n, n] (LAPACK `?syev`, upper triangle
    /// read). Eigenvalues go to w [n] in ascending order; with `vectors`, row i of `a` is
    /// overwritten by the unit eigenvector of w[i]. Returns LAPACK's `info` (0 = success).
    static func symmetricEigen(_ a: UnsafeMutablePointer<Self>, _ w: UnsafeMutablePointer<Self>, n: Int, vectors: Bool) -> Int
}

extension Tensor {
    /// Eigen-decomposition of a symmetric matrix `[n, n]` (LAPACK `?syev`): eigenvalues
    /// `[n]` in ascending order and, if `vectors`, the unit eigenvectors as the rows of
    /// `[n, n]` (row i belongs to value i). Only the upper triangle is read.
    public func symmetricEigen(vectors: Bool = true) -> (values: Tensor, vectors: Tensor?) {
        require(rank == 2 && shape[0] == shape[1], "symmetricEigen: expects a square matrix, got shape \(shape)")
        let n = shape[0]
        var a = self
        var w = Tensor(uninitialized: [n])
        let info = a.withUnsafeMutablePointer { ap in w.withUnsafeMutablePointer { Scalar.symmetricEigen(ap, $0, n: n, vectors: vectors) } }
        require(info == 0, "symmetricEigen: LAPACK ?syev failed with info = \(info) for a [\(n), \(n)] matrix")
        return (w, vectors ? a : nil)
    }

    /// The rows of a matrix `[k, d]` made orthonormal by (modified) Gram–Schmidt, in order;
    /// rows that depend on the previous ones (norm below `tolerance` after projection) are dropped.
    public func orthonormalizedRows(tolerance: Double = 1e-10) -> Tensor {
        require(rank == 2, "orthonormalizedRows: expects a matrix, got shape \(shape)")
        let (k, d) = (shape[0], shape[1])
        var q = self
        var kept = 0
        q.withUnsafeMutablePointer { rows in
            for i in 0..<k {
                let v = rows + i * d
                for j in 0..<kept { // v −= (q_j · v) q_j
                    let u = rows + j * d
                    Scalar.axpy(d, -Scalar.dot(d, u, v), u, v)
                }
                let norm = Double(Scalar.dot(d, v, v)).squareRoot()
                guard norm > tolerance else { continue }
                Scalar.scal(d, Scalar(1 / norm), v)
                if kept != i { Scalar.copy(v, rows + kept * d, d) }
                kept += 1
            }
        }
        return q[rows: 0..<kept]
    }
}

/// The cosines of the principal angles between the subspaces spanned by the rows of
/// `a` `[k₁, d]` and of `b` `[k₂, d]`, largest first (min(k₁, k₂) of them; 1 = a shared direction).
///
/// Both bases are made orthonormal (Q₁, Q₂); the cosines are the singular values of Q₁ Q₂ᵀ,
/// computed as the square roots of the eigenvalues of M = (Q₁ Q₂ᵀ)ᵀ (Q₁ Q₂ᵀ).
public func principalAngleCosines<Scalar: TensorScalar>(_ a: Tensor<Scalar>, _ b: Tensor<Scalar>) -> [Double] {
    require(
        a.rank == 2 && b.rank == 2 && a.shape[1] == b.shape[1],
        "principalAngleCosines: expects two bases [k1, d] and [k2, d] of one space, got \(a.shape) and \(b.shape)")
    let q1 = a.orthonormalizedRows(), q2 = b.orthonormalizedRows()
    let overlap = Tensor.matmul(q1, q2, transposeB: true) // [k1, k2]
    let gram = Tensor.matmul(overlap, overlap, transposeA: true) // [k2, k2]
    let count = min(q1.shape[0], q2.shape[0])
    let values = gram.symmetricEigen(vectors: false).values.scalars.map { Double($0) }
    return values.reversed().prefix(count).map { min(1, max(0, $0).squareRoot()) }
}

/// Principal component analysis: the mean of the data and the top `k` eigenvectors of its
/// covariance, found by LAPACK's symmetric eigensolver.
///
/// ```swift
/// let pca = PCA(mnist.train.images, components: 30)
/// let codes = pca.encode(test)                  // [N, 30]
/// let reconstructions = pca.decode(codes)       // [N, 784]
/// ```
///
/// The covariance (1/N) Σ (x − μ)(x − μ)ᵀ of data `[N, d]` is one GEMM, X̄ᵀ X̄ / N.
public struct PCA<Scalar: TensorScalar> {
    /// The mean μ `[d]`.
    public let mean: Tensor<Scalar>
    /// The principal directions `[k, d]` as orthonormal rows, by decreasing variance.
    public let components: Tensor<Scalar>
    /// The variance along each component, decreasing (`[k]`).
    public let variances: [Double]
    /// Every eigenvalue of the covariance, decreasing (`[d]`): the data's spectrum.
    public let spectrum: [Double]

    /// Fits `k` components to `data` `[N, d]`.
    public init(_ data: Tensor<Scalar>, components k: Int) {
        require(data.rank == 2 && data.shape[0] > 0, "PCA: expects data [N, d] with N > 0, got \(data.shape)")
        let (n, d) = (data.shape[0], data.shape[1])
        require(k >= 1 && k <= d, "PCA: components must be in 1...\(d) for data \(data.shape), got \(k)")
        mean = data.mean(alongAxis: 0)
        let centered = data.addingRowVector(-mean) // [N, d]
        var covariance = Tensor<Scalar>(uninitialized: [d, d])
        Tensor.gemm(centered, centered, transposeA: true, alpha: 1 / Scalar(n), into: &covariance)
        let (values, vectors) = covariance.symmetricEigen()
        // LAPACK sorts ascending: the last k rows are the top components
        spectrum = values.scalars.reversed().map { Double($0) }
        variances = Array(spectrum.prefix(k))
        let top = vectors![rows: (d - k)..<d]
        components = Tensor(shape: [k, d]) { out in
            top.withUnsafePointer { src in
                for i in 0..<k { Scalar.copy(src + (k - 1 - i) * d, out + i * d, d) }
            }
        }
    }

    /// Number of components.
    public var count: Int { components.shape[0] }

    /// The coordinates of x `[N, d]` along the components, `[N, k]` = (x − μ) Cᵀ.
    public func encode(_ x: Tensor<Scalar>) -> Tensor<Scalar> {
        require(x.matrixShape.cols == mean.count, "PCA.encode: expects [N, \(mean.count)], got \(x.shape)")
        return Tensor.matmul(x.addingRowVector(-mean), components, transposeB: true)
    }

    /// Points of the data space `[N, d]` = codes C + μ, for codes `[N, k]`.
    public func decode(_ codes: Tensor<Scalar>) -> Tensor<Scalar> {
        require(codes.matrixShape.cols == count, "PCA.decode: expects [N, \(count)], got \(codes.shape)")
        return Tensor.matmul(codes, components).addingRowVector(mean)
    }

    /// The projection of x onto the affine principal subspace: decode(encode(x)).
    public func reconstruct(_ x: Tensor<Scalar>) -> Tensor<Scalar> { decode(encode(x)) }
}

extension Float {
    public static func symmetricEigen(_ a: UnsafeMutablePointer<Float>, _ w: UnsafeMutablePointer<Float>, n: Int, vectors: Bool) -> Int {
        // A row-major symmetric matrix is its own column-major transpose, so LAPACK reads it
        // as is; its column-major eigenvector columns are our rows.
        var jobz: CChar = vectors ? 86 : 78, uplo: CChar = 85 // "V" / "N", "U"
        var n32 = Int32(n), lda = Int32(max(n, 1)), info: Int32 = 0
        var lwork: Int32 = -1, query: Float = 0
        ssyev_(&jobz, &uplo, &n32, a, &lda, w, &query, &lwork, &info) // workspace query
        guard info == 0 else { return Int(info) }
        lwork = Int32(query)
        var work = [Float](repeating: 0, count: max(Int(lwork), 1))
        ssyev_(&jobz, &uplo, &n32, a, &lda, w, &work, &lwork, &info)
        return Int(info)
    }
}

extension Double {
    public static func symmetricEigen(_ a: UnsafeMutablePointer<Double>, _ w: UnsafeMutablePointer<Double>, n: Int, vectors: Bool) -> Int {
        var jobz: CChar = vectors ? 86 : 78, uplo: CChar = 85 // "V" / "N", "U"
        var n32 = Int32(n), lda = Int32(max(n, 1)), info: Int32 = 0
        var lwork: Int32 = -1, query: Double = 0
        dsyev_(&jobz, &uplo, &n32, a, &lda, w, &query, &lwork, &info) // workspace query
        guard info == 0 else { return Int(info) }
        lwork = Int32(query)
        var work = [Double](repeating: 0, count: max(Int(lwork), 1))
        dsyev_(&jobz, &uplo, &n32, a, &lda, w, &work, &lwork, &info)
        return Int(info)
    }
}
