import Synchronization

// Random: the seeded generator of the library (xoshiro256**), tensors of random numbers,
// and RandomKernels, the loops that fill memory with them.

/// A small, fast, seeded random number generator (xoshiro256**), so that a training run
/// is reproducible bit for bit for a given seed. Its whole state is four words
/// (`state`), which checkpoints save and restore.
///
/// ```swift
/// Random.global = Random(seed: 42)          // like torch.manual_seed(42)
/// var rng = Random(seed: 7)
/// let w = Tensor<Float>.uniform([3, 4], in: -1...1, using: &rng)
/// ```
public struct Random: RandomNumberGenerator, Equatable, Sendable {
    /// The generator's complete state.
    public var state: [UInt64]

    /// The generator used when none is given (initialisation, dropout masks, shuffling).
    ///
    /// Every read and every write is atomic (a lock guards it), so threads may use it, but
    /// an `inout` use (`&Random.global`) is a read and a later write: two threads drawing
    /// from it at once can draw the same numbers. For reproducible runs on several
    /// threads, give each thread its own `Random`.
    public static var global: Random {
        get { globalStorage.withLock { $0 } }
        set { globalStorage.withLock { $0 = newValue } }
    }
    private static let globalStorage = Mutex(Random(seed: 0))

    /// A generator seeded by expanding `seed` with SplitMix64.
    public init(seed: UInt64) {
        var s = seed
        func splitmix() -> UInt64 {
            s &+= 0x9E37_79B9_7F4A_7C15
            var z = s
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = [splitmix(), splitmix(), splitmix(), splitmix()]
    }

    /// A generator resumed from a saved `state`.
    public init(state: [UInt64]) {
        require(state.count == 4 && state.contains { $0 != 0 }, "Random(state:): needs four words, not all zero")
        self.state = state
    }

    public mutating func next() -> UInt64 {
        let result = rotl(state[1] &* 5, 7) &* 9
        let t = state[1] << 17
        state[2] ^= state[0]
        state[3] ^= state[1]
        state[1] ^= state[2]
        state[0] ^= state[3]
        state[2] ^= t
        state[3] = rotl(state[3], 45)
        return result
    }

    @inline(__always) private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// A uniform number in [0, 1) with 53 random bits.
    public mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// A standard normal number (Box–Muller; both values of a pair are returned).
    public mutating func nextNormalPair() -> (Double, Double) {
        let u1 = 1 - nextUnit() // in (0, 1]: log is finite
        let u2 = nextUnit()
        let r = (-2 * Foundation.log(u1)).squareRoot()
        return (r * Foundation.cos(2 * Double.pi * u2), r * Foundation.sin(2 * Double.pi * u2))
    }

    /// A random permutation of 0..<n (Fisher–Yates).
    public mutating func permutation(_ n: Int) -> [Int] {
        var p = Array(0..<n)
        if n > 1 {
            for i in stride(from: n - 1, to: 0, by: -1) {
                let j = Int(next() % UInt64(i + 1))
                p.swapAt(i, j)
            }
        }
        return p
    }
}

extension Tensor {
    /// Elements drawn uniformly from `range`.
    public static func uniform(_ shape: [Int], in range: ClosedRange<Scalar>, using rng: inout Random) -> Tensor {
        let lo = Double(range.lowerBound), width = Double(range.upperBound - range.lowerBound)
        return Tensor(shape: shape) { out in
            for i in 0..<shape.reduce(1, *) { out[i] = Scalar(lo + width * rng.nextUnit()) }
        }
    }

    /// Elements drawn uniformly from `range` with the global generator.
    public static func uniform(_ shape: [Int], in range: ClosedRange<Scalar>) -> Tensor {
        uniform(shape, in: range, using: &Random.global)
    }

    /// Elements drawn from a normal distribution.
    public static func normal(_ shape: [Int], mean: Scalar = 0, std: Scalar = 1, using rng: inout Random) -> Tensor {
        let n = shape.reduce(1, *), m = Double(mean), s = Double(std)
        return Tensor(shape: shape) { out in
            var i = 0
            while i < n {
                let (a, b) = rng.nextNormalPair()
                out[i] = Scalar(m + s * a)
                if i + 1 < n { out[i + 1] = Scalar(m + s * b) }
                i += 2
            }
        }
    }

    /// Elements drawn from a normal distribution with the global generator.
    public static func normal(_ shape: [Int], mean: Scalar = 0, std: Scalar = 1) -> Tensor {
        normal(shape, mean: mean, std: std, using: &Random.global)
    }
}

import Foundation

/// The loops that fill memory with random numbers (Dropout and noise masks, Gaussian noise,
/// VAE samples): static requirements of the scalar type, like every element loop.
public protocol RandomKernels {
    /// mask[i] = `scale` with probability `keep`, else 0, one draw of `rng` per element.
    static func bernoulliMask(
        _ mask: UnsafeMutablePointer<Self>, _ n: Int, keep: Double, scale: Self,
        using rng: inout Random)
    /// out[i] = std · N(0, 1), standard normals drawn from `rng` (Box–Muller pairs).
    static func normalFill(_ out: UnsafeMutablePointer<Self>, _ n: Int, std: Double, using rng: inout Random)
}

extension RandomKernels where Self: TensorScalar {
    public static func bernoulliMask(
        _ mask: UnsafeMutablePointer<Self>, _ n: Int, keep: Double, scale: Self,
        using rng: inout Random
    ) {
        for i in 0..<n { mask[i] = rng.nextUnit() < keep ? scale : 0 }
    }

    public static func normalFill(_ out: UnsafeMutablePointer<Self>, _ n: Int, std: Double, using rng: inout Random) {
        var i = 0
        while i < n {
            let (a, b) = rng.nextNormalPair()
            out[i] = Self(std * a)
            if i + 1 < n { out[i + 1] = Self(std * b) }
            i += 2
        }
    }
}
