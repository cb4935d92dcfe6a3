// Scores of generated images seen through a trained classifier: the "inception score", the
// share of each predicted class, and the Fréchet distance between Gaussian fits of the
// classifier's features (FID-style), with the matrix square root through symmetric
// eigen-decompositions.

import Foundation

/// What a trained classifier sees in a set of images, accumulated batch by batch in
/// Double, and the scores of generative models computed from it.
///
/// For each image x the classifier gives logits, hence class probabilities p(y|x) (its
/// softmax), and features f(x) (the output of a hidden layer, e.g. the lecture convnet's
/// 200-unit ReLU). Over N images this keeps Σₓ p(y|x), Σₓ Σ_y p log p, the count of each
/// predicted class (argmax), Σₓ f and Σₓ f fᵀ, so any number of batches can be added and
/// nothing per image is kept.
///
/// - **Inception score** (Salimans et al. 2016, here with a digit classifier):
///
///       IS = exp( E_x KL(p(y|x) ‖ p(y)) ),   p(y) = E_x p(y|x)
///          = exp( E_x Σ_y p(y|x) log p(y|x)  −  Σ_y p(y) log p(y) )
///
///   It is 1 when every image gets the same prediction (or every prediction is uniform)
///   and k when the predictions are confident (one-hot) and spread evenly over k classes:
///   high means "each image is clearly one digit, and all digits occur".
/// - **Class shares**: the fraction of images whose most probable class is y.
/// - **Fréchet distance** between two sets (Heusel et al. 2017): fit a Gaussian N(μ, Σ)
///   to each set's features; the 2-Wasserstein distance between the two Gaussians is
///
///       d² = ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2 (Σ₁ Σ₂)^{1/2})
///
///   (see `frechetDistance(mean1:covariance1:mean2:covariance2:)` for how the trace of
///   the square root is computed). 0 for identical statistics; lower is closer.
///
/// ```swift
/// var generated = GenerativeScores(classes: 10, features: 200)
/// for _ in 0..<10 { generated.add(classifier: convnet, featureLayer: 8, images: samples()) }
/// print(generated.inceptionScore, generated.classShares)
/// print(generated.frechetDistance(to: realTestDigits))
/// ```
public struct GenerativeScores {
    /// Number of classes (the width of the logits).
    public let classCount: Int
    /// Number of features per image (the width of the feature layer).
    public let featureCount: Int
    /// Images added so far.
    public private(set) var count = 0
    /// Images whose most probable class is y, for each y.
    public private(set) var predictedCounts: [Int]
    private var probabilitySums: [Double] // Σₓ p(y|x)           [K]
    private var negativeEntropySum = 0.0 // Σₓ Σ_y p log p
    private var featureSums: [Double] // Σₓ f                [d]
    private var featureProducts: Tensor<Double> // Σₓ f fᵀ             [d, d]

    /// An empty accumulator for `classes` classes and `features` features per image.
    public init(classes: Int, features: Int) {
        require(
            classes >= 1 && features >= 1,
            "GenerativeScores: needs at least 1 class and 1 feature, got classes \(classes), features \(features)")
        classCount = classes
        featureCount = features
        predictedCounts = Array(repeating: 0, count: classes)
        probabilitySums = Array(repeating: 0, count: classes)
        featureSums = Array(repeating: 0, count: features)
        featureProducts = .zeros([features, features])
    }

    /// Adds a batch: `logits` `[B, classes]` (softmax is taken here, in Double, from the
    /// logits) and `features` `[B, features]` (any trailing shape flattens to it).
    public mutating func add<Scalar: TensorScalar>(logits: Tensor<Scalar>, features: Tensor<Scalar>) {
        let b = logits.shape.first ?? 0
        require(
            logits.rank == 2 && logits.shape[1] == classCount,
            "GenerativeScores.add: logits must be [B, \(classCount)], got \(logits.shape)")
        require(
            features.shape.first == b && features.count == b * featureCount,
            "GenerativeScores.add: features must be [\(b), \(featureCount)] for logits \(logits.shape), got \(features.shape)")
        let k = classCount, d = featureCount
        let z = logits.scalars, f = features.scalars.map { Double($0) }
        var p = [Double](repeating: 0, count: k)
        for r in 0..<b {
            // softmax of one row, shifted by its maximum so that exp cannot overflow
            let row = (0..<k).map { Double(z[r * k + $0]) }
            let top = row.max()!
            var total = 0.0
            for y in 0..<k { p[y] = Foundation.exp(row[y] - top); total += p[y] }
            let logTotal = Foundation.log(total)
            var best = 0
            for y in 0..<k {
                let logP = row[y] - top - logTotal
                p[y] /= total
                probabilitySums[y] += p[y]
                if p[y] > 0 { negativeEntropySum += p[y] * logP }
                if row[y] > row[best] { best = y }
            }
            predictedCounts[best] += 1
        }
        // Σ f and Σ f fᵀ (one rank-B update: Fᵀ F)
        for r in 0..<b { for j in 0..<d { featureSums[j] += f[r * d + j] } }
        let batch = Tensor<Double>(shape: [b, d], scalars: f)
        Tensor.gemm(batch, batch, transposeA: true, beta: 1, into: &featureProducts)
        count += b
    }

    /// Runs `classifier` (in evaluation mode; its mode is restored) on `images` and adds
    /// the batch: the features are the output of module `featureLayer` (0-based; for the
    /// lecture convnet, 8 is the ReLU after the 200-unit Linear), the logits the output of
    /// the whole chain. One pass: the chain is run up to that module, then on from it.
    public mutating func add<Scalar: TensorScalar>(classifier: Sequential<Scalar>, featureLayer: Int, images: Tensor<Scalar>) {
        let (features, logits) = Self.featuresAndLogits(classifier, featureLayer: featureLayer, images)
        add(logits: logits, features: features)
    }

    /// The output of module `featureLayer` of `classifier` and the classifier's output
    /// for `images`, in evaluation mode (restored after).
    public static func featuresAndLogits<Scalar: TensorScalar>(
        _ classifier: Sequential<Scalar>, featureLayer: Int,
        _ images: Tensor<Scalar>
    ) -> (features: Tensor<Scalar>, logits: Tensor<Scalar>) {
        let layers = classifier.layers
        require(
            layers.indices.contains(featureLayer),
            "GenerativeScores: featureLayer \(featureLayer) is not a module of a \(layers.count)-module classifier")
        let wasTraining = classifier.isTraining
        classifier.isTraining = false
        defer { classifier.isTraining = wasTraining }
        var x = images
        for layer in layers[...featureLayer] { x = layer.fprop(x) }
        let features = x
        for layer in layers[(featureLayer + 1)...] { x = layer.fprop(x) }
        return (features, x)
    }

    /// p(y) = E_x p(y|x), the mean prediction (the marginal class distribution).
    public var meanPrediction: [Double] {
        probabilitySums.map { $0 / Double(Swift.max(count, 1)) }
    }

    /// exp(E_x KL(p(y|x) ‖ p(y))): between 1 and `classCount` (see the type's notes).
    public var inceptionScore: Double {
        require(count > 0, "GenerativeScores.inceptionScore: no images were added")
        let marginal = meanPrediction
        let marginalNegativeEntropy = marginal.reduce(0) { $0 + ($1 > 0 ? $1 * Foundation.log($1) : 0) }
        return Foundation.exp(negativeEntropySum / Double(count) - marginalNegativeEntropy)
    }

    /// The fraction of images predicted as each class (argmax), summing to 1.
    public var classShares: [Double] {
        predictedCounts.map { Double($0) / Double(Swift.max(count, 1)) }
    }

    /// The features' mean μ `[d]`.
    public var featureMean: Tensor<Double> {
        Tensor(featureSums.map { $0 / Double(Swift.max(count, 1)) })
    }

    /// The features' covariance Σ `[d, d]` (unbiased, divided by N − 1, as numpy's `cov`).
    public var featureCovariance: Tensor<Double> {
        require(count > 1, "GenerativeScores.featureCovariance: needs at least 2 images, got \(count)")
        let n = Double(count), d = featureCount, products = featureProducts.scalars
        let mu = featureSums.map { $0 / n }
        var c = [Double](repeating: 0, count: d * d)
        for i in 0..<d {
            for j in 0..<d { c[i * d + j] = (products[i * d + j] - n * mu[i] * mu[j]) / (n - 1) }
        }
        return Tensor(shape: [d, d], scalars: c)
    }

    /// The Fréchet distance between the Gaussian fits of this set's features and `other`'s.
    public func frechetDistance(to other: GenerativeScores) -> Double {
        require(
            featureCount == other.featureCount,
            "GenerativeScores.frechetDistance: \(featureCount) features against \(other.featureCount)")
        return Backprop.frechetDistance(
            mean1: featureMean, covariance1: featureCovariance,
            mean2: other.featureMean, covariance2: other.featureCovariance)
    }
}

/// The Fréchet (2-Wasserstein) distance between N(μ₁, Σ₁) and N(μ₂, Σ₂), in Double:
///
///     d² = ‖μ₁ − μ₂‖² + Tr Σ₁ + Tr Σ₂ − 2 Tr (Σ₁ Σ₂)^{1/2}
///
/// Σ₁ Σ₂ is not symmetric, but it is similar to the symmetric positive semi-definite
/// M = Σ₁^{1/2} Σ₂ Σ₁^{1/2} (conjugate by Σ₁^{1/2}), so both have the same eigenvalues
/// λᵢ ≥ 0 and Tr (Σ₁ Σ₂)^{1/2} = Σᵢ √λᵢ. Two symmetric eigen-decompositions give it:
/// Σ₁ = V diag(σ) Vᵀ, so Σ₁^{1/2} = V diag(√σ) Vᵀ; then the eigenvalues of M. Rounding
/// can make eigenvalues of these semi-definite matrices slightly negative: they are
/// clamped to 0. (This avoids the complex results a general `sqrtm` can give.)
/// Means are `[d]`, covariances `[d, d]` and symmetric (only checked in shape).
public func frechetDistance(
    mean1: Tensor<Double>, covariance1: Tensor<Double>,
    mean2: Tensor<Double>, covariance2: Tensor<Double>
) -> Double {
    let d = mean1.count
    require(
        mean2.count == d && covariance1.shape == [d, d] && covariance2.shape == [d, d],
        "frechetDistance: means [\(d)] and [\(mean2.count)] need covariances [\(d), \(d)], got \(covariance1.shape) and \(covariance2.shape)"
    )
    let meanTerm = (mean1 - mean2).sumOfSquares()
    var trace1 = 0.0, trace2 = 0.0
    for i in 0..<d { trace1 += covariance1.scalars[i * d + i]; trace2 += covariance2.scalars[i * d + i] }

    // Σ₁^{1/2} = Vᵀ diag(√σ) V, with the eigenvectors as the rows of V
    let (values1, vectors1) = covariance1.symmetricEigen()
    let v = vectors1!
    let scaled = Tensor<Double>(shape: [d, d]) { out in // diag(√σ) V
        for i in 0..<d {
            let s = Swift.max(values1.scalars[i], 0).squareRoot()
            for j in 0..<d { out[i * d + j] = s * v.scalars[i * d + j] }
        }
    }
    let root1 = Tensor.matmul(v, scaled, transposeA: true) // Vᵀ diag(√σ) V
    // M = Σ₁^{1/2} Σ₂ Σ₁^{1/2}, made exactly symmetric before the eigensolver
    let m = Tensor.matmul(Tensor.matmul(root1, covariance2), root1)
    let symmetric = (m + m.transposed()) * 0.5
    let traceOfRoot = symmetric.symmetricEigen(vectors: false).values.scalars.reduce(0) { $0 + Swift.max($1, 0).squareRoot() }
    return meanTerm + trace1 + trace2 - 2 * traceOfRoot
}
