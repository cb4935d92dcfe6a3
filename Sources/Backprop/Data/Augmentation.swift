// Image augmentation: seeded random translations, small rotations and elastic distortions
// of a batch of images (labels untouched), ImageWarp (one image's transform), and
// AugmentationKernels, the resampling loop.
import CKernels
import Foundation

/// The geometric transform of one image: a translation by whole pixels, a rotation about
/// the image centre, and optionally a displacement field (an elastic distortion), resampled
/// bilinearly with zeros outside the image.
///
/// Output pixel (x, y) (x the column, y the row, centre c = ((W − 1)/2, (H − 1)/2)) takes the
/// input at `c + R(−θ)·((x, y) − shift − c) + displacement(x, y)`: the content turns by θ
/// about the centre, then moves by `shift`. So a pixel at (x, y) moves to (x + dx, y + dy),
/// and a positive angle turns the image counter-clockwise as displayed (rows downwards), as
/// `numpy.rot90` does for 90°.
public struct ImageWarp: Equatable, Sendable {
    /// Translation in pixels: columns to the right (`x`) and rows down (`y`).
    public var shift: (x: Int, y: Int)
    /// Rotation in degrees, counter-clockwise as displayed.
    public var rotation: Double
    /// Per-pixel source offsets `[2, H, W]` flattened (x offsets then y offsets), or nil.
    public var displacement: [Double]?

    /// A warp; the default is the identity.
    public init(shift: (x: Int, y: Int) = (0, 0), rotation: Double = 0, displacement: [Double]? = nil) {
        self.shift = shift
        self.rotation = rotation
        self.displacement = displacement
    }

    public static func == (a: ImageWarp, b: ImageWarp) -> Bool {
        a.shift == b.shift && a.rotation == b.rotation && a.displacement == b.displacement
    }

    /// The affine part as `a` of `AugmentationKernels.warpBilinear`: source = a·(x, y, 1).
    func affine(height: Int, width: Int) -> [Double] {
        let theta = rotation * .pi / 180
        // exact for the right angles, so that rotations by 90° are permutations of pixels
        let (c, s): (Double, Double) =
            rotation.truncatingRemainder(dividingBy: 90) == 0
            ? [(1.0, 0.0), (0.0, 1.0), (-1.0, 0.0), (0.0, -1.0)][((Int(rotation / 90) % 4) + 4) % 4]
            : (Foundation.cos(theta), Foundation.sin(theta))
        let cx = Double(width - 1) / 2, cy = Double(height - 1) / 2
        let ox = -Double(shift.x) - cx, oy = -Double(shift.y) - cy
        // sx = cx + c·(x + ox) − s·(y + oy),  sy = cy + s·(x + ox) + c·(y + oy)
        return [
            c, -s, cx + c * ox - s * oy,
            s, c, cy + s * ox + c * oy
        ]
    }
}

/// A seeded random augmentation of image batches, label preserving: each image is moved by
/// up to `maxShift` whole pixels in x and in y (uniform integers, zero fill), turned by a
/// uniform angle in ±`maxRotation` degrees, and, if `elastic` is set, distorted as in
/// Simard, Steinkraus and Platt (2003): a random displacement field, uniform in [−1, 1] per
/// pixel and coordinate, smoothed by a Gaussian of standard deviation `sigma` pixels and
/// scaled by `alpha`. Everything is resampled bilinearly.
///
/// Image `i` of batch `b` draws its numbers from its own generator, derived from
/// (`seed`, `b`, `i`), so a batch's result does not depend on the thread count, or on which
/// thread prepares it (the prefetching batches give the same images as the plain ones).
///
/// ```swift
/// let augment = ImageAugmentation(maxShift: 2, maxRotation: 10, seed: 7)
/// let moved = augment(images, batch: step)              // [N, 1, 28, 28] → same shape
/// let flat = augment(rows, batch: step, imageShape: [1, 28, 28])   // [N, 784] digits
/// ```
public struct ImageAugmentation: Sendable {
    /// Elastic distortion parameters (Simard et al. used σ = 4, α = 34 on 28×28 digits).
    public struct Elastic: Sendable, Equatable {
        /// Strength: the smoothed field is multiplied by α (pixels).
        public var alpha: Double
        /// Smoothness: the Gaussian's standard deviation, in pixels.
        public var sigma: Double
        /// `alpha` ≥ 0, `sigma` > 0.
        public init(alpha: Double, sigma: Double) {
            require(alpha >= 0 && alpha.isFinite, "ImageAugmentation.Elastic: alpha must be finite and ≥ 0, got \(alpha)")
            require(sigma > 0 && sigma.isFinite, "ImageAugmentation.Elastic: sigma must be finite and > 0, got \(sigma)")
            self.alpha = alpha
            self.sigma = sigma
        }
    }

    /// Largest translation in pixels, in each direction.
    public var maxShift: Int
    /// Largest rotation in degrees, either way.
    public var maxRotation: Double
    /// The elastic distortion, or nil for none.
    public var elastic: Elastic?
    /// The seed every image's generator is derived from.
    public var seed: UInt64

    /// An augmentation; `maxShift` ≥ 0, `maxRotation` in 0...180.
    public init(maxShift: Int = 0, maxRotation: Double = 0, elastic: Elastic? = nil, seed: UInt64) {
        require(maxShift >= 0, "ImageAugmentation: maxShift must be ≥ 0, got \(maxShift)")
        require((0...180).contains(maxRotation), "ImageAugmentation: maxRotation must be in 0...180 degrees, got \(maxRotation)")
        self.maxShift = maxShift
        self.maxRotation = maxRotation
        self.elastic = elastic
        self.seed = seed
    }

    /// The generator of image `image` of batch `batch`: (seed, batch, image) mixed by SplitMix64 steps.
    public func generator(batch: Int, image: Int) -> Random {
        func mix(_ z: UInt64) -> UInt64 {
            var z = z &+ 0x9E37_79B9_7F4A_7C15
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        return Random(seed: mix(mix(mix(seed) ^ UInt64(bitPattern: Int64(batch))) ^ UInt64(bitPattern: Int64(image))))
    }

    /// The warp of image `image` of batch `batch` for images of `height` × `width`.
    public func warp(batch: Int, image: Int, height: Int, width: Int) -> ImageWarp {
        var rng = generator(batch: batch, image: image)
        var warp = ImageWarp()
        if maxShift > 0 {
            let span = UInt64(2 * maxShift + 1)
            warp.shift = (Int(rng.next() % span) - maxShift, Int(rng.next() % span) - maxShift)
        }
        if maxRotation > 0 { warp.rotation = (2 * rng.nextUnit() - 1) * maxRotation }
        if let elastic { warp.displacement = elasticField(height: height, width: width, elastic, using: &rng) }
        return warp
    }

    /// The augmented batch: `images` `[N, C, H, W]`, or `[N, features]` with `imageShape`
    /// `[C, H, W]` or `[H, W]` (e.g. `[28, 28]` for 784-value digits); the result has the
    /// shape of `images`. `batch` picks the random numbers (pass the step number). Images
    /// are done in parallel on `Threads.count` threads, or on the calling thread alone with
    /// `threads: 1`; the result is the same.
    public func callAsFunction<Scalar: TensorScalar>(
        _ images: Tensor<Scalar>, batch: Int, imageShape: [Int]? = nil,
        threads: Int? = nil
    ) -> Tensor<Scalar> {
        let (_, c, h, w) = ImageAugmentation.imageGeometry(images.shape, imageShape, "ImageAugmentation")
        return ImageAugmentation.warped(images, channels: c, height: h, width: w, threads: threads) { i in
            warp(batch: batch, image: i, height: h, width: w)
        }
    }

    /// `images` with image `i` resampled through `warps[i]` (shapes as for `callAsFunction`).
    public static func apply<Scalar: TensorScalar>(
        _ warps: [ImageWarp], to images: Tensor<Scalar>, imageShape: [Int]? = nil,
        threads: Int? = nil
    ) -> Tensor<Scalar> {
        let (n, c, h, w) = imageGeometry(images.shape, imageShape, "ImageAugmentation.apply")
        require(warps.count == n, "ImageAugmentation.apply: \(warps.count) warps for \(n) images of shape \(images.shape)")
        return warped(images, channels: c, height: h, width: w, threads: threads) { warps[$0] }
    }

    /// (N, C, H, W) of `shape` seen as images of `imageShape`, or a message naming both.
    static func imageGeometry(_ shape: [Int], _ imageShape: [Int]?, _ caller: String) -> (Int, Int, Int, Int) {
        let n = shape.first ?? 0
        let image: [Int]
        if let imageShape {
            require(
                imageShape.count == 2 || imageShape.count == 3,
                "\(caller): imageShape must be [C, H, W] or [H, W], got \(imageShape)")
            image = imageShape.count == 2 ? [1] + imageShape : imageShape
            require(
                image.allSatisfy { $0 > 0 } && image.reduce(1, *) * n == shape.reduce(1, *) && shape.count >= 2,
                "\(caller): images of shape \(shape) are not \(n) images of imageShape \(imageShape)")
        } else {
            require(
                shape.count == 4,
                "\(caller): images must be [N, C, H, W], got \(shape); for flattened images [N, features] pass imageShape, e.g. [28, 28]")
            image = Array(shape.dropFirst())
        }
        return (n, image[0], image[1], image[2])
    }

    static func warped<Scalar: TensorScalar>(
        _ images: Tensor<Scalar>, channels c: Int, height h: Int, width w: Int,
        threads: Int?, _ warpOf: (Int) -> ImageWarp
    ) -> Tensor<Scalar> {
        let n = images.shape.first ?? 0, size = c * h * w
        return images.withUnsafePointer { src in
            Tensor(shape: images.shape) { out in
                func body(_ range: Range<Int>) {
                    for i in range {
                        let warp = warpOf(i)
                        let affine = warp.affine(height: h, width: w)
                        if let field = warp.displacement {
                            require(field.count == 2 * h * w, "ImageWarp: displacement holds \(field.count) values, expected 2·\(h)·\(w)")
                            field.withUnsafeBufferPointer { d in
                                Scalar.warpBilinear(
                                    src + i * size, out + i * size, channels: c, height: h, width: w,
                                    affine: affine, dx: d.baseAddress!, dy: d.baseAddress! + h * w)
                            }
                        } else {
                            Scalar.warpBilinear(
                                src + i * size, out + i * size, channels: c, height: h, width: w,
                                affine: affine, dx: nil, dy: nil)
                        }
                    }
                }
                if threads == 1 {
                    if n > 0 { body(0..<n) }
                } else {
                    Threads.parallelFor(n, costPerItem: 20 * size, body)
                }
            }
        }
    }
}

/// A Simard et al. displacement field `[2, H, W]`: uniform in [−1, 1], smoothed by a
/// Gaussian of σ (separable, truncated at 3σ, zero beyond the border), times α.
func elasticField(height h: Int, width w: Int, _ elastic: ImageAugmentation.Elastic, using rng: inout Random) -> [Double] {
    let radius = max(1, Int((3 * elastic.sigma).rounded(.up)))
    var kernel = (-radius...radius).map { Foundation.exp(-Double($0 * $0) / (2 * elastic.sigma * elastic.sigma)) }
    let total = kernel.reduce(0, +)
    kernel = kernel.map { $0 / total }
    var field = [Double](repeating: 0, count: 2 * h * w)
    var noise = [Double](repeating: 0, count: h * w), rows = noise
    for k in 0..<2 {
        for p in 0..<(h * w) { noise[p] = 2 * rng.nextUnit() - 1 }
        for y in 0..<h { // along x
            for x in 0..<w {
                var s = 0.0
                for t in max(-radius, -x)...min(radius, w - 1 - x) { s += kernel[t + radius] * noise[y * w + x + t] }
                rows[y * w + x] = s
            }
        }
        for y in 0..<h { // along y
            for x in 0..<w {
                var s = 0.0
                for t in max(-radius, -y)...min(radius, h - 1 - y) { s += kernel[t + radius] * rows[(y + t) * w + x] }
                field[k * h * w + y * w + x] = elastic.alpha * s
            }
        }
    }
    return field
}

/// The resampling loop of image augmentation: a static requirement of the scalar type, like
/// every element loop (Float's is C, Double's the generic Swift below).
public protocol AugmentationKernels {
    /// image, out `[C, H, W]` (distinct). For each output pixel (x, y):
    /// sx = a[0]·x + a[1]·y + a[2] + dx[y·W + x], sy = a[3]·x + a[4]·y + a[5] + dy[y·W + x];
    /// out[c, y, x] = image[c] bilinearly interpolated at (sx, sy), pixels outside the image
    /// counting as 0. `dx`, `dy` both nil: no displacement.
    static func warpBilinear(
        _ image: UnsafePointer<Self>, _ out: UnsafeMutablePointer<Self>, channels: Int, height: Int, width: Int,
        affine: [Double], dx: UnsafePointer<Double>?, dy: UnsafePointer<Double>?)
}

extension AugmentationKernels where Self: TensorScalar {
    public static func warpBilinear(
        _ image: UnsafePointer<Self>, _ out: UnsafeMutablePointer<Self>, channels: Int, height: Int, width: Int,
        affine a: [Double], dx: UnsafePointer<Double>?, dy: UnsafePointer<Double>?
    ) {
        // image [C, H, W] → out [C, H, W]
        let plane = height * width
        for y in 0..<height {
            for x in 0..<width {
                let p = y * width + x
                var sx = a[0] * Double(x) + a[1] * Double(y) + a[2]
                var sy = a[3] * Double(x) + a[4] * Double(y) + a[5]
                if let dx, let dy { sx += dx[p]; sy += dy[p] }
                let fx0 = sx.rounded(.down), fy0 = sy.rounded(.down)
                guard fx0 > -2 && fx0 < Double(width) && fy0 > -2 && fy0 < Double(height) else {
                    for c in 0..<channels { out[c * plane + p] = 0 }
                    continue
                }
                let x0 = Int(fx0), y0 = Int(fy0)
                let wx = Self(sx - fx0), wy = Self(sy - fy0)
                let in00 = x0 >= 0 && y0 >= 0, in01 = x0 + 1 < width && y0 >= 0
                let in10 = x0 >= 0 && y0 + 1 < height, in11 = x0 + 1 < width && y0 + 1 < height
                for c in 0..<channels {
                    let src = image + c * plane
                    let p00 = in00 ? src[y0 * width + x0] : 0, p01 = in01 ? src[y0 * width + x0 + 1] : 0
                    let p10 = in10 ? src[(y0 + 1) * width + x0] : 0, p11 = in11 ? src[(y0 + 1) * width + x0 + 1] : 0
                    let top = p00 + wx * (p01 - p00), bottom = p10 + wx * (p11 - p10)
                    out[c * plane + p] = top + wy * (bottom - top)
                }
            }
        }
    }
}

/// `Float`'s resampling loop: `bp_warp_bilinear_f32` in Sources/CKernels/augmentation.c,
/// compiled for AVX-512, AVX2 and the baseline and picked for the CPU at load time.
extension Float {
    public static func warpBilinear(
        _ image: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, channels: Int, height: Int, width: Int,
        affine: [Double], dx: UnsafePointer<Double>?, dy: UnsafePointer<Double>?
    ) {
        // image [C, H, W] → out [C, H, W]
        require(affine.count == 6, "warpBilinear: affine needs 6 coefficients, got \(affine.count)")
        affine.withUnsafeBufferPointer { bp_warp_bilinear_f32(image, out, channels, height, width, $0.baseAddress!, dx, dy) }
    }
}
