// Mini-batches prepared one ahead on a worker thread (gather, then an optional transform
// such as augmentation) while the caller trains on the current one.
import Dispatch

extension MiniBatches {
    /// The same batches, in the same order, each with `prepare(images, index)` applied
    /// (`index` = `startIndex` + its position, e.g. the step number for an augmentation's
    /// random numbers), and each gathered and prepared on a worker thread while the caller
    /// works on the one before. The results are bit-identical to preparing them in turn on
    /// the calling thread:
    ///
    /// ```swift
    /// let augment = ImageAugmentation(maxShift: 2, maxRotation: 10, seed: 7)
    /// let batches = train.batches(size: 128, using: &rng).prefetched(startIndex: step) { images, index in
    ///     augment(images, batch: index, imageShape: [28, 28], threads: 1)
    /// }
    /// for (images, labels) in batches { /* train on them */ }
    /// ```
    ///
    /// The worker runs `prepare` on its own thread alone: the library's parallel loops and
    /// GEMMs inside it run inline there and never take the thread pool, which stays free
    /// for the caller's training step on `Threads.count` threads (pass `threads: 1` to an
    /// augmentation, or let it find the pool busy; it gives the same result either way).
    public func prefetched(
        startIndex: Int = 0,
        prepare: ((_ images: Tensor<Scalar>, _ index: Int) -> Tensor<Scalar>)? = nil
    ) -> PrefetchedBatches<Scalar> {
        PrefetchedBatches(batches: self, startIndex: startIndex, prepare: prepare)
    }

    /// Batch `k` (0-based) gathered, then `prepare(images, startIndex + k)` if given: what
    /// `prefetched` yields, computed on the calling thread.
    func prepared(_ k: Int, startIndex: Int, _ prepare: ((Tensor<Scalar>, Int) -> Tensor<Scalar>)?) -> (
        images: Tensor<Scalar>, labels: [Int]
    ) {
        let start = k * size, end = Swift.min(start + size, order.count)
        let (images, labels) = data.batch(Array(order[start..<end]))
        return (prepare.map { $0(images, startIndex + k) } ?? images, labels)
    }
}

/// Mini-batches of a `MiniBatches` sequence, each prepared (gathered and transformed) on a
/// worker thread one batch ahead of the caller; see `MiniBatches.prefetched`.
public struct PrefetchedBatches<Scalar: TensorScalar>: Sequence {
    let batches: MiniBatches<Scalar>
    let startIndex: Int
    let prepare: ((Tensor<Scalar>, Int) -> Tensor<Scalar>)?

    /// Number of batches.
    public var count: Int { batches.count }

    public func makeIterator() -> Iterator { Iterator(self) }

    /// Hands out batch k after starting the preparation of batch k + 1.
    public final class Iterator: IteratorProtocol {
        /// What the worker thread and the caller share. `@unchecked Sendable`: the caller
        /// and the worker never touch it at the same time. The caller starts a job only
        /// when none is pending, the worker writes `result` and then signals `done`, and the
        /// caller reads `result` only after waiting on `done` (the semaphore orders the
        /// accesses); the data set is only read, by both.
        private final class Shared: @unchecked Sendable {
            let sequence: PrefetchedBatches<Scalar>
            var result: (images: Tensor<Scalar>, labels: [Int])?
            let done = DispatchSemaphore(value: 0)
            init(_ sequence: PrefetchedBatches<Scalar>) { self.sequence = sequence }
        }

        private let shared: Shared
        private let queue = DispatchQueue(label: "Backprop.PrefetchedBatches")
        private var nextIndex = 0
        private var pending = false

        init(_ sequence: PrefetchedBatches<Scalar>) {
            shared = Shared(sequence)
            start(0)
        }

        deinit {
            if pending { shared.done.wait() } // (no work left running behind us)
        }

        /// Starts preparing batch `k` on the worker, if there is one.
        private func start(_ k: Int) {
            guard k < shared.sequence.count else { return }
            pending = true
            let shared = self.shared
            queue.async {
                // as one task of the pool: parallel loops inside run inline on this thread
                Threads.run(tasks: 1) { _ in
                    shared.result = shared.sequence.batches.prepared(k, startIndex: shared.sequence.startIndex, shared.sequence.prepare)
                }
                shared.done.signal()
            }
        }

        public func next() -> (images: Tensor<Scalar>, labels: [Int])? {
            guard pending else { return nil }
            shared.done.wait()
            pending = false
            let batch = shared.result!
            shared.result = nil
            nextIndex += 1
            start(nextIndex)
            return batch
        }
    }
}
