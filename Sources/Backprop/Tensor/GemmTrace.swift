import Foundation

/// Records the shapes of the GEMM calls a piece of code makes, so a benchmark can time
/// the same GEMMs alone and report how far a training step is from what the BLAS allows.
///
/// ```swift
/// let calls = GemmTrace.recording { step() }   // [(transA, transB, m, n, k, beta)]
/// ```
public enum GemmTrace {
    /// One GEMM call: C[m, n] = op(A)[m, k] · op(B)[k, n] + beta · C.
    public struct Call: Equatable, Sendable {
        public let transA: Bool, transB: Bool
        public let m: Int, n: Int, k: Int
        public let beta: Double

        public init(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, beta: Double) {
            self.transA = transA
            self.transB = transB
            self.m = m
            self.n = n
            self.k = k
            self.beta = beta
        }
    }

    nonisolated(unsafe) static var isRecording = false
    nonisolated(unsafe) private static var calls: [Call] = []
    /// GEMMs are called from several threads at once (Conv2D runs blocks of images on every
    /// core, each with its own GEMMs): appending from two at a time corrupted the array.
    private static let lock = NSLock()

    static func record(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ beta: some BinaryFloatingPoint) {
        lock.lock()
        defer { lock.unlock() }
        calls.append(Call(transA: transA, transB: transB, m: m, n: n, k: k, beta: Double(beta)))
    }

    /// Runs `body` and returns the GEMM calls it made: in order for the calls of one thread,
    /// those of parallel blocks interleaved as they came (call `recording` from one thread).
    public static func recording(_ body: () throws -> Void) rethrows -> [Call] {
        calls = []
        isRecording = true
        defer { isRecording = false }
        try body()
        return calls
    }
}
