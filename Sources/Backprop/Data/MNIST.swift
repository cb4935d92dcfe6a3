// Labelled image sets (MNIST and its relatives, read from IDX files) and their mini-batches.
import Foundation

/// Images with integer class labels, e.g. one split of MNIST.
public struct LabeledImages<Scalar: TensorScalar> {
    /// `[N, features]` or `[N, C, H, W]`.
    public var images: Tensor<Scalar>
    /// One class index per image.
    public var labels: [Int]
    /// Number of classes (labels lie in `0..<classCount`).
    public var classCount: Int

    /// A data set; `images` has one row (first extent) per label.
    public init(images: Tensor<Scalar>, labels: [Int], classCount: Int) {
        require(
            images.shape.first == labels.count,
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
/// Image sizes come from the files; labels must lie in `0..<classes`. Pixels are scaled
/// to [0, 1].
public struct MNIST<Scalar: TensorScalar> {
    /// How images are shaped: `[N, H·W]` for dense networks, `[N, 1, H, W]` for convolutions.
    public enum Layout: Sendable { case flat, image }

    /// The training split.
    public let train: LabeledImages<Scalar>
    /// The test split.
    public let test: LabeledImages<Scalar>

    /// The four files, without the optional `.gz`: training images and labels, test images and labels.
    public static var fileNames: [String] {
        ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
    }

    /// Loads both splits. `classes` is the number of classes (MNIST has 10): every label
    /// must lie in `0..<classes`, and both splits get `classCount == classes`. Each IDX
    /// file may hold at most `maxBytes` of data (see `IDXArray.defaultMaxBytes`).
    /// Throws a `DataError` naming the folder and every missing file, or naming the file for
    /// anything malformed: a label out of range (with its index and value), an empty split,
    /// images of no pixels, image and label counts that differ, or training and test
    /// images of different sizes.
    public init(
        directory: String, layout: Layout = .flat, classes: Int = 10,
        maxBytes: Int = IDXArray.defaultMaxBytes
    ) throws {
        require(classes >= 1, "MNIST: classes must be at least 1, got \(classes)")
        let missing = MNIST.missingFiles(in: directory)
        guard missing.isEmpty else {
            throw DataError(
                .missingFile, file: directory,
                "\(missing.count) of the 4 MNIST files \(missing.count == 1 ? "is" : "are") missing (each may be raw or .gz): "
                    + missing.map { "\($0)[.gz]: no such file" }.joined(separator: "; "))
        }
        let (trainSet, trainSize) = try MNIST.load(directory, "train", layout, classes, maxBytes)
        let (testSet, testSize) = try MNIST.load(directory, "t10k", layout, classes, maxBytes)
        // compared as height × width: 2×2 and 1×4 images both flatten to 4 features
        guard trainSize == testSize else {
            throw DataError(
                .mismatch, file: directory,
                "training images are \(trainSize[0])×\(trainSize[1]) pixels but test images are \(testSize[0])×\(testSize[1])")
        }
        train = trainSet
        test = testSet
    }

    /// True if `directory` holds the four files (raw or gzip'd).
    public static func isPresent(in directory: String) -> Bool { missingFiles(in: directory).isEmpty }

    /// The names (from `fileNames`, without `.gz`) of the files absent from `directory`
    /// in both their raw and `.gz` forms; empty when all four are there.
    public static func missingFiles(in directory: String) -> [String] {
        fileNames.filter { locate(directory, $0) == nil }
    }

    static func locate(_ directory: String, _ name: String) -> String? {
        let base = (directory as NSString).appendingPathComponent(name)
        return [base + ".gz", base].first { FileManager.default.fileExists(atPath: $0) }
    }

    static func load(_ directory: String, _ split: String, _ layout: Layout, _ classes: Int, _ maxBytes: Int) throws -> (
        LabeledImages<Scalar>, size: [Int]
    ) {
        func path(_ name: String) throws -> String {
            guard let p = locate(directory, name) else {
                throw DataError(.missingFile, file: (directory as NSString).appendingPathComponent(name + "[.gz]"), "no such file")
            }
            return p
        }
        let imagePath = try path("\(split)-images-idx3-ubyte"), labelPath = try path("\(split)-labels-idx1-ubyte")
        let images = try IDXArray(contentsOf: imagePath, maxBytes: maxBytes)
        let labelArray = try IDXArray(contentsOf: labelPath, maxBytes: maxBytes)
        guard images.shape.count == 3 else {
            throw DataError(.badShape, file: imagePath, "expected images [N, height, width], found shape \(images.shape)")
        }
        guard labelArray.shape.count == 1 else {
            throw DataError(.badShape, file: labelPath, "expected labels [N], found shape \(labelArray.shape)")
        }
        let (n, h, w) = (images.shape[0], images.shape[1], images.shape[2])
        guard n > 0 else {
            throw DataError(.empty, file: imagePath, "holds no images (shape \(images.shape)): the \(split) split is empty")
        }
        guard h > 0 && w > 0 else {
            throw DataError(.empty, file: imagePath, "images of \(h)×\(w) pixels hold nothing (shape \(images.shape))")
        }
        guard n == labelArray.shape[0] else {
            throw DataError(.mismatch, file: labelPath, "\(labelArray.shape[0]) labels for \(n) images in \(imagePath)")
        }
        let labels = try labelArray.integers(file: labelPath)
        if let i = labels.firstIndex(where: { !(0..<classes).contains($0) }) {
            throw DataError(.badValue, file: labelPath, "label \(labels[i]) at index \(i) is outside 0..<\(classes) (classes: \(classes))")
        }
        let scale = images.elementType == .uint8 ? 1.0 / 255 : 1
        var tensor: Tensor<Scalar> = images.tensor(scale: scale)
        tensor.reshape(layout == .flat ? [n, h * w] : [n, 1, h, w])
        return (LabeledImages(images: tensor, labels: labels, classCount: classes), [h, w])
    }
}
