// BucketLayout: which parameters share a bucket, in which order buckets are reduced, and
// after which layer each is complete.
import BackpropMPI
import XCTest

final class BucketLayoutTests: XCTestCase {
    func testBucketsFollowBackwardLastLayerFirst() {
        // parameters 0,1 in layer 0; 2,3 in layer 2; 4,5 in layer 4 (weight, bias each)
        let layout = BucketLayout(byteCounts: [400, 16, 400, 16, 400, 16], completedAfter: [0, 0, 2, 2, 4, 4], bucketBytes: 500)
        XCTAssertEqual(layout.buckets, [[5, 4, 3], [2, 1], [0]])
        XCTAssertEqual(layout.readyAfterLayer, [2, 0, 0])
    }

    func testOneLargeBucketHoldsEverything() {
        let layout = BucketLayout(byteCounts: [400, 16, 400, 16], completedAfter: [0, 0, 2, 2], bucketBytes: 25 << 20)
        XCTAssertEqual(layout.buckets, [[3, 2, 1, 0]])
        XCTAssertEqual(layout.readyAfterLayer, [0])
    }

    func testAParameterLargerThanABucketIsAloneAndNoneIsLost() {
        let layout = BucketLayout(byteCounts: [10, 1000, 10, 10], completedAfter: [3, 2, 1, 0], bucketBytes: 100)
        XCTAssertEqual(layout.buckets, [[0], [1], [2, 3]])
        XCTAssertEqual(layout.buckets.flatMap { $0 }.sorted(), [0, 1, 2, 3])
    }

    func testASharedParameterWaitsForItsFirstLayer() {
        // parameter 0 is used by layers 0 and 3: complete only after layer 0
        let layout = BucketLayout(byteCounts: [100, 100, 100], completedAfter: [0, 3, 1], bucketBytes: 100)
        XCTAssertEqual(layout.buckets, [[1], [2], [0]])
        XCTAssertEqual(layout.readyAfterLayer, [3, 1, 0])
    }

    func testWithoutLayerOrderTheBucketsRunInReverseParameterOrder() {
        let layout = BucketLayout(byteCounts: [8, 8, 8], completedAfter: nil, bucketBytes: 16)
        XCTAssertEqual(layout.buckets, [[2, 1], [0]])
        XCTAssertEqual(layout.readyAfterLayer, [nil, nil])
    }
}
