// LabeledImages.split(validation:seed:): sizes, stratification, seeding, and the errors.
import Backprop
import XCTest

final class SplitTests: XCTestCase {
    /// `n` examples whose image row i holds the value i (so every example can be traced),
    /// labels following `labelOf`.
    func data(_ n: Int, classes: Int, labelOf: (Int) -> Int) -> LabeledImages<Float> {
        LabeledImages(
            images: Tensor(shape: [n, 2], scalars: (0..<n).flatMap { [Float($0), Float($0)] }),
            labels: (0..<n).map(labelOf), classCount: classes)
    }

    func ids(_ d: LabeledImages<Float>) -> [Int] { (0..<d.count).map { Int(d.images[$0, 0]) } }

    func testSizesStratificationAndOrder() throws {
        // unbalanced classes: 500 of class 0, 300 of class 1, 200 of class 2
        let all = data(1000, classes: 3) { $0 < 500 ? 0 : ($0 < 800 ? 1 : 2) }
        let (train, validation) = try all.split(validation: .count(100), seed: 3)
        XCTAssertEqual(validation.count, 100)
        XCTAssertEqual(train.count, 900)
        XCTAssertEqual(validation.classCount, 3)
        // per class in proportion: 50, 30, 20
        XCTAssertEqual((0..<3).map { c in validation.labels.filter { $0 == c }.count }, [50, 30, 20])
        // every example in exactly one set, each set in the original order, labels with their images
        XCTAssertEqual(Set(ids(train)).union(ids(validation)), Set(0..<1000))
        XCTAssert(Set(ids(train)).isDisjoint(with: ids(validation)))
        XCTAssertEqual(ids(train), ids(train).sorted())
        XCTAssertEqual(ids(validation), ids(validation).sorted())
        for (i, id) in ids(validation).enumerated() { XCTAssertEqual(validation.labels[i], all.labels[id]) }
    }

    func testSharesRoundedByLargestRemainderAddUpExactly() throws {
        // 3 classes of 7 examples each, 10 held out: 10/3 each, the remainder to the first class
        let all = data(21, classes: 3) { $0 % 3 }
        let (_, validation) = try all.split(validation: .count(10), seed: 1)
        XCTAssertEqual((0..<3).map { c in validation.labels.filter { $0 == c }.count }, [4, 3, 3])
        let (_, fifth) = try all.split(validation: .fraction(0.2), seed: 1)
        XCTAssertEqual(fifth.count, 4, "0.2 · 21 = 4.2 rounds to 4")
    }

    func testSeeded() throws {
        let all = data(200, classes: 4) { $0 % 4 }
        let a = try all.split(validation: .count(40), seed: 7), b = try all.split(validation: .count(40), seed: 7)
        let c = try all.split(validation: .count(40), seed: 8)
        XCTAssertEqual(ids(a.validation), ids(b.validation))
        XCTAssertNotEqual(ids(a.validation), ids(c.validation))
    }

    func testCountsOutOfRangeAreErrorsNamingTheArgument() {
        let all = data(10, classes: 2) { $0 % 2 }
        for bad: LabeledImages<Float>.ValidationSize in [
            .count(0), .count(10), .count(-1), .fraction(0), .fraction(1), .fraction(.nan), .fraction(0.01)
        ] {
            XCTAssertThrowsError(try all.split(validation: bad, seed: 1), "\(bad)") { error in
                let e = error as? DataError
                XCTAssertEqual(e?.kind, .invalidArgument)
                XCTAssert(e?.problem.hasPrefix("validation: ") == true, "\(error)")
            }
        }
    }
}
