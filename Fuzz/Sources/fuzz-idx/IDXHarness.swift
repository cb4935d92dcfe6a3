// libFuzzer harness for the IDX reader (MNIST's format), raw and gzip'd.
// The first byte chooses the entry point: even, the in-memory parser `IDXArray(data:)`;
// odd, the file reader `IDXArray(contentsOf:)` on the remaining bytes written to a
// temporary file (zlib reads raw bytes unchanged and inflates gzip'd ones). Whatever
// parses is then decoded to a tensor and to integer labels.
import Backprop
import FuzzDriver
import Foundation

/// One scratch file per process (libFuzzer runs inputs one at a time).
let scratchPath: String = {
    let dir = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    return "\(dir)/backprop-fuzz-idx-\(getpid()).idx"
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIDX(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard size >= 1, let data else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
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
