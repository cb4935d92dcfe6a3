// libFuzzer harness for the IDX reader (MNIST's format), raw and gzip'd.
// The first byte chooses the entry point: even, the in-memory parser `IDXArray(data:)`;
// odd, the file reader `IDXArray(contentsOf:)` on the remaining bytes written to a
// temporary file (zlib reads raw bytes unchanged and inflates gzip'd ones). Whatever
// parses is then decoded to a tensor and to integer labels.
import Backprop
import CZlib
import FuzzDriver
import Foundation

/// With BACKPROP_FUZZ_SKIP_KNOWN=1 in the environment, inputs of an already reported
/// crash class are skipped, so that a long run gets past them: headers whose extents
/// multiply past Int.max (IDXArray(data:) traps on the overflow instead of throwing;
/// reproducer in Fuzz/Regressions/fuzz-idx/).
let skipKnown = ProcessInfo.processInfo.environment["BACKPROP_FUZZ_SKIP_KNOWN"] == "1"

/// True if the IDX header in `bytes` declares more elements than an Int can count.
func extentsOverflow(_ bytes: [UInt8]) -> Bool {
    guard bytes.count >= 4 else { return false }
    let rank = Int(bytes[3])
    guard bytes.count >= 4 + 4 * rank else { return false }
    var count = 8   // bytes per element at most
    for d in 0..<rank {
        let o = 4 + 4 * d
        let extent = Int(bytes[o]) << 24 | Int(bytes[o + 1]) << 16 | Int(bytes[o + 2]) << 8 | Int(bytes[o + 3])
        let (product, overflow) = count.multipliedReportingOverflow(by: extent)
        if overflow { return true }
        count = product
    }
    return false
}

/// The first bytes of `path` as zlib reads them (inflated if gzip'd): enough for any header.
func headOfFile(_ path: String) -> [UInt8] {
    guard let gz = gzopen(path, "rb") else { return [] }
    defer { gzclose(gz) }
    var head = [UInt8](repeating: 0, count: 4 + 4 * 255)
    let n = head.withUnsafeMutableBytes { gzread(gz, $0.baseAddress, UInt32($0.count)) }
    return n > 0 ? Array(head[..<Int(n)]) : []
}

/// One scratch file per process (libFuzzer runs inputs one at a time).
let scratchPath: String = {
    let dir = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    return "\(dir)/backprop-fuzz-idx-\(getpid()).idx"
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIDX(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard size >= 1, let data else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    if skipKnown && data[0] & 1 == 0 && extentsOverflow(bytes) { return 0 }
    let array: IDXArray
    do {
        if data[0] & 1 == 0 {
            array = try IDXArray(data: bytes)
        } else {
            let fd = open(scratchPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            guard fd >= 0 else { fatalError("cannot create \(scratchPath)") }
            let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            close(fd)
            guard written == bytes.count else { fatalError("cannot write \(scratchPath)") }
            if skipKnown && extentsOverflow(headOfFile(scratchPath)) { return 0 }
            array = try IDXArray(contentsOf: scratchPath)
        }
    } catch is DataError {
        return 0
    } catch {
        fatalError("IDXArray threw something other than a DataError: \(error)")
    }
    // A parsed array holds exactly what its header declares.
    precondition(array.count == array.shape.reduce(1, *))
    let tensor: Tensor<Float> = array.tensor(scale: 1.0 / 255)
    precondition(tensor.shape == array.shape)
    _ = try? array.integers()
    return 0
}

/// The executable's entry point (SwiftPM links `main` to it): libFuzzer's driver.
@_cdecl("fuzz_idx_main")
public func fuzz_idx_main(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    fuzz_driver_run(argc, argv) { data, size in fuzzIDX(data, size) }
}
