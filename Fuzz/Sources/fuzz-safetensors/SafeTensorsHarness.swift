// libFuzzer harness for the safetensors reader `SafeTensors(bytes:)`.
// Whatever parses must convert every tensor of a float dtype (to Float and Double), and
// must encode to bytes that parse back to the same names, entries and metadata.
import Backprop
import FuzzDriver

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let file: SafeTensors
    do {
        file = try SafeTensors(bytes: bytes)
    } catch is SafeTensorsError {
        return 0
    } catch {
        fatalError("SafeTensors threw something other than a SafeTensorsError: \(error)")
    }
    for name in file.names {
        guard let entry = file[name] else { fatalError("listed tensor '\(name)' is missing") }
        precondition(entry.bytes.count == entry.count * entry.dtype.byteCount)
        if entry.dtype.isConvertible {
            do {
                let f: Tensor<Float> = try file.tensor(name)
                let d: Tensor<Double> = try file.tensor(name)
                precondition(f.shape == entry.shape && d.shape == entry.shape)
            } catch {
                fatalError("tensor '\(name)' (\(entry.dtype)) does not convert: \(error)")
            }
        }
    }
    // Round trip: what the library writes, it reads back unchanged.
    let again: SafeTensors
    do {
        again = try SafeTensors(bytes: file.encoded())
    } catch {
        fatalError("re-encoded file does not parse: \(error)")
    }
    precondition(Set(again.names) == Set(file.names), "round trip changed the names")
    for name in file.names { precondition(again[name] == file[name], "round trip changed '\(name)'") }
    precondition(again.metadata == file.metadata, "round trip changed the metadata")
    return 0
}

/// Seed inputs written by the library itself: a small model file in each float dtype, a
/// file with metadata and a zero-sized tensor, and an empty one.
func writeSeeds(to directory: String) throws {
    var rng = Random(seed: 1)
    let model = Sequential<Float>()
    model.add(Linear<Float>(3, 4, using: &rng))
    model.add(Tanh<Float>())
    model.add(Linear<Float>(4, 2, using: &rng))
    for dtype in [SafeTensors.DType.float32, .float64] {
        var file = SafeTensors(metadata: ["format": "pt"])
        model.addParameters(to: &file, as: dtype)
        try file.write(to: "\(directory)/model-\(dtype.rawValue).safetensors")
    }
    var mixed = SafeTensors(metadata: ["format": "pt", "note": "zero-sized and scalar tensors"])
    mixed.add("empty", Tensor<Float>(shape: [0, 3]) { _ in })
    mixed.add("scalar", Tensor<Double>(shape: []) { $0[0] = 2.5 })
    try mixed.write(to: "\(directory)/mixed.safetensors")
    try SafeTensors().write(to: "\(directory)/empty.safetensors")
    // The library writes F32 and F64 only: F16, BF16 and integer tensors by hand.
    let header =
        #"{"h":{"dtype":"F16","shape":[2,2],"data_offsets":[0,8]},"b":{"dtype":"BF16","shape":[3],"data_offsets":[8,14]},"#
        + #""i":{"dtype":"I64","shape":[1],"data_offsets":[14,22]},"__metadata__":{"format":"pt"}}"#
    var bytes = withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian, Array.init) + Array(header.utf8)
    bytes += [0x00, 0x3C, 0x00, 0xC0, 0x00, 0x7C, 0x01, 0x00] // F16 1, -2, inf, a subnormal
    bytes += [0x80, 0x3F, 0xC0, 0x7F, 0x80, 0xFF] // BF16 1, NaN, -inf
    bytes += [1, 0, 0, 0, 0, 0, 0, 0]
    try AtomicFile.write(bytes, to: "\(directory)/half.safetensors")
}

/// The executable's entry point (SwiftPM links `main` to it): libFuzzer's driver, or
/// `--write-seeds DIR` to write the seed corpus.
@_cdecl("fuzz_safetensors_main")
public func fuzz_safetensors_main(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    if argc == 3, let argv, String(cString: argv[1]!) == "--write-seeds" {
        do { try writeSeeds(to: String(cString: argv[2]!)) } catch { fatalError("\(error)") }
        return 0
    }
    return fuzz_driver_run(argc, argv) { data, size in fuzzSafeTensors(data, size) }
}
