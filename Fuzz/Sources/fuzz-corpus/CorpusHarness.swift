// libFuzzer harness for the character corpus. The first four bytes choose the validation
// fraction, the window length, the batch size and the split; the rest is the text
// (decoded as UTF-8 with repairs, and also checked as strict UTF-8 through a file-like
// path). Whatever builds must decode back to its text and serve random and streamed
// batches of any size the corpus admits.
import Backprop
import FuzzDriver
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCorpus(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard size >= 4, let data else { return 0 }
    let fraction = Double(data[0]) / 256 // in [0, 1)
    let lengthByte = Int(data[1]), batchByte = Int(data[2]), control = data[3]
    let body = UnsafeBufferPointer(start: data + 4, count: size - 4)
    let text = String(decoding: body, as: UTF8.self)
    let corpus: CharacterCorpus
    do {
        corpus = try CharacterCorpus(text: text, validationFraction: fraction)
    } catch is DataError {
        return 0
    } catch {
        fatalError("CharacterCorpus threw something other than a DataError: \(error)")
    }
    // Everything encodes, and decodes back to the text.
    precondition(
        corpus.decode(corpus.train + corpus.validation).unicodeScalars.elementsEqual(text.unicodeScalars),
        "decode(encode(text)) is not the text")
    precondition((try? corpus.encode(text)) == corpus.train + corpus.validation)

    let split: CharacterCorpus.Split = control & 1 == 0 || corpus.validation.isEmpty ? .train : .validation
    let n = corpus[split].count
    // Random windows: any length shorter than the split, any batch size.
    let length = 1 + lengthByte % (n - 1)
    let batchSize = 1 + batchByte % 16
    var rng = Random(seed: UInt64(control))
    let (inputs, targets): (Tensor<Float>, [Int]) = corpus.randomBatch(from: split, length: length, batchSize: batchSize, using: &rng)
    precondition(inputs.shape == [length, batchSize] && targets.count == length * batchSize)
    precondition(targets.allSatisfy { $0 >= 0 && $0 < corpus.vocabularySize })

    // Streams: batch sizes and lengths for which the split holds at least one window.
    let offset = Int(control >> 1) % n
    let streams = 1 + batchByte % 8
    let streamLength = (n - offset - 1) / streams
    if streamLength >= 1 {
        let window = 1 + lengthByte % streamLength
        let batches: StreamBatches<Double> = corpus.streamBatches(from: split, length: window, batchSize: streams, offset: offset)
        var predicted = 0
        for (x, y) in batches {
            precondition(x.shape[1] == streams && y.count == x.shape[0] * streams)
            predicted += y.count
        }
        precondition(predicted == batches.characterCount)
    }
    return 0
}

/// The executable's entry point (SwiftPM links `main` to it): libFuzzer's driver.
@_cdecl("fuzz_corpus_main")
public func fuzz_corpus_main(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    fuzz_driver_run(argc, argv) { data, size in fuzzCorpus(data, size) }
}
