// Prefetched mini-batches: bit-identical to the plain batches prepared in turn, on one or
// several threads, and ending cleanly when left early.
@testable import Backprop
import XCTest

final class PrefetchTests: XCTestCase {
    func digits(_ n: Int) -> LabeledImages<Float> {
        var rng = Random(seed: 11)
        return LabeledImages(images: .uniform([n, 1, 12, 12], in: 0...1, using: &rng), labels: (0..<n).map { $0 % 10 }, classCount: 10)
    }

    func testBitIdenticalToTheSynchronousBatches() {
        let data = digits(70)
        let augment = ImageAugmentation(maxShift: 2, maxRotation: 10, elastic: .init(alpha: 3, sigma: 2), seed: 3)
        let saved = Threads.count
        defer { Threads.count = saved }
        for threads in [1, 2] {
            Threads.count = threads
            var rng = Random(seed: 5), rng2 = rng
            // the plain iterator, each batch augmented on the calling thread
            let plain = data.batches(size: 16, using: &rng).enumerated().map { k, batch in
                (augment(batch.images, batch: 100 + k), batch.labels)
            }
            let prefetched = Array(
                data.batches(size: 16, using: &rng2).prefetched(startIndex: 100) { images, index in
                    augment(images, batch: index, threads: 1)
                })
            XCTAssertEqual(prefetched.count, 5)
            XCTAssertEqual(prefetched.map(\.labels), plain.map(\.1))
            XCTAssertEqual(prefetched.map(\.images), plain.map(\.0), "threads \(threads)")
            XCTAssertEqual(prefetched.last?.images.shape, [6, 1, 12, 12])
            XCTAssertEqual(rng, rng2, "the same draws of the shuffling generator")
        }
    }

    func testWithoutATransformItGathersTheSameBatches() {
        let data = digits(33)
        var rng = Random(seed: 1), rng2 = rng
        let plain = Array(data.batches(size: 8, using: &rng))
        let prefetched = Array(data.batches(size: 8, using: &rng2).prefetched())
        XCTAssertEqual(prefetched.map(\.images), plain.map(\.images))
        XCTAssertEqual(prefetched.map(\.labels), plain.map(\.labels))
    }

    func testLeavingEarlyAndEmptySequences() {
        let data = digits(40)
        var used = 0
        for _ in data.batches(size: 4).prefetched() {
            used += 1
            if used == 2 { break } // the pending batch is waited for, then dropped
        }
        XCTAssertEqual(used, 2)
        let empty = LabeledImages<Float>(images: .zeros([0, 1, 12, 12]), labels: [], classCount: 10)
        XCTAssertEqual(Array(empty.batches(size: 4).prefetched()).count, 0)
    }
}
