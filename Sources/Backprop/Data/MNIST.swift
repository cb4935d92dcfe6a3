import Foundation

/// Images with integer class labels, e.g. one split of MNIST.
public struct LabeledImages<Scalar: TensorScalar> {
    /// `[N, features]` or `[N, C, H, W]`.
    public var images: Tensor<Scalar>
    /// One class index per image.
    public var labels: [Int]
    /// Number of classes (largest label + 1 across the data set's splits).
    public var classCount: Int

    public init(images: Tensor<Scalar>, labels: [Int], classCount: Int) {
        require(images.shape.first == labels.count,
                     "LabeledImages: \(images.shape.first ?? 0) images but \(labels.count) labels")
        self.images = images
        self.labels = labels
        self.classCount = classCount
    }

    /// Number of examples.
    public var count: Int { labels.count }

    /// The first `n` examples (or all, if fewer).
    public func prefix(_ n: Int) -> LabeledImages {
        let n = min(n, count)
        return LabeledImages(images: images[rows: 0..<n], labels: Array(labels[0..<n]), classCount: classCount)
    }

    /// The examples at `indices`, in that order.
    public func batch(_ indices: [Int]) -> (images: Tensor<Scalar>, labels: [Int]) {
        (images.gathering(rows: indices), indices.map { labels[$0] })
    }

    /// Mini-batches of `size` in a random order drawn from `rng` (the last may be smaller).
    public func batches(size: Int, using rng: inout Random) -> MiniBatches<Scalar> {
        MiniBatches(data: self, order: rng.permutation(count), size: size)
    }

    /// Mini-batches of `size` in order (for evaluation).
    public func batches(size: Int) -> MiniBatches<Scalar> {
        MiniBatches(data: self, order: Array(0..<count), size: size)
    }
}

/// A sequence of mini-batches `(images, labels)` drawn from a data set in a fixed order.
public struct MiniBatches<Scalar: TensorScalar>: Sequence {
    let data: LabeledImages<Scalar>
    let order: [Int]
    let size: Int

    init(data: LabeledImages<Scalar>, order: [Int], size: Int) {
        require(size > 0, "batches: batch size must be positive, got \(size)")
        self.data = data
        self.order = order
        self.size = size
    }

    /// Number of batches.
    public var count: Int { (order.count + size - 1) / size }

    public func makeIterator() -> AnyIterator<(images: Tensor<Scalar>, labels: [Int])> {
        var start = 0
        return AnyIterator {
            guard start < order.count else { return nil }
            let end = Swift.min(start + size, order.count)
            defer { start = end }
            return data.batch(Array(order[start..<end]))
        }
    }
}

/// MNIST (or any image set in the same IDX layout: Fashion-MNIST, EMNIST, KMNIST) from a
/// directory holding `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
/// `t10k-images-idx3-ubyte` and `t10k-labels-idx1-ubyte`, each optionally `.gz`.
/// Image sizes and the number of classes come from the files. Pixels are scaled to [0, 1].
public struct MNIST<Scalar: TensorScalar> {
    /// How images are shaped: `[N, H·W]` for dense networks, `[N, 1, H, W]` for convolutions.
    public enum Layout: Sendable { case flat, image }

    public let train: LabeledImages<Scalar>
    public let test: LabeledImages<Scalar>

    /// Loads both splits; throws a `DataError` naming the file for anything missing or malformed.
    public init(directory: String, layout: Layout = .flat) throws {
        let trainSet = try MNIST.load(directory, "train", layout)
        let testSet = try MNIST.load(directory, "t10k", layout)
        guard trainSet.images.shape.dropFirst() == testSet.images.shape.dropFirst() else {
            throw DataError(file: directory, "training images \(trainSet.images.shape) and test images \(testSet.images.shape) differ in size")
        }
        let classes = max(trainSet.classCount, testSet.classCount)
        train = LabeledImages(images: trainSet.images, labels: trainSet.labels, classCount: classes)
        test = LabeledImages(images: testSet.images, labels: testSet.labels, classCount: classes)
    }

    /// True if `directory` holds the four files (raw or gzip'd).
    public static func isPresent(in directory: String) -> Bool {
        ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
            .allSatisfy { locate(directory, $0) != nil }
    }

    static func locate(_ directory: String, _ name: String) -> String? {
        let base = (directory as NSString).appendingPathComponent(name)
        return [base + ".gz", base].first { FileManager.default.fileExists(atPath: $0) }
    }

    static func load(_ directory: String, _ split: String, _ layout: Layout) throws -> LabeledImages<Scalar> {
        func path(_ name: String) throws -> String {
            guard let p = locate(directory, name) else {
                throw DataError(file: (directory as NSString).appendingPathComponent(name + "[.gz]"), "no such file")
            }
            return p
        }
        let imagePath = try path("\(split)-images-idx3-ubyte"), labelPath = try path("\(split)-labels-idx1-ubyte")
        let images = try IDXArray(contentsOf: imagePath)
        let labelArray = try IDXArray(contentsOf: labelPath)
        guard images.shape.count == 3 else {
            throw DataError(file: imagePath, "expected images [N, height, width], found shape \(images.shape)")
        }
        guard labelArray.shape.count == 1 else {
            throw DataError(file: labelPath, "expected labels [N], found shape \(labelArray.shape)")
        }
        guard images.shape[0] == labelArray.shape[0] else {
            throw DataError(file: labelPath, "\(labelArray.shape[0]) labels for \(images.shape[0]) images in \(imagePath)")
        }
        let labels = try labelArray.integers(file: labelPath)
        if let bad = labels.first(where: { $0 < 0 }) { throw DataError(file: labelPath, "negative label \(bad)") }
        let (n, h, w) = (images.shape[0], images.shape[1], images.shape[2])
        let scale = images.elementType == .uint8 ? 1.0 / 255 : 1
        var tensor: Tensor<Scalar> = images.tensor(scale: scale)
        tensor.reshape(layout == .flat ? [n, h * w] : [n, 1, h, w])
        return LabeledImages(images: tensor, labels: labels, classCount: (labels.max() ?? -1) + 1)
    }
}
