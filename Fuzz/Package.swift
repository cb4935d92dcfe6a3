// swift-tools-version:5.9
// libFuzzer harnesses for Backprop's file readers, kept apart from the library's own
// manifest so that the fuzzer flags never reach packages that depend on Backprop.
// Build and run them with Scripts/fuzz.sh; each target is one harness whose
// `LLVMFuzzerTestOneInput` libFuzzer calls. SwiftPM links an executable's `main` to
// `<module>_main`, so each harness defines that function and hands over to libFuzzer's
// driver (FuzzDriver); build with `-parse-as-library` (no top-level code).
import PackageDescription

let harnesses = ["fuzz-idx", "fuzz-safetensors", "fuzz-checkpoint", "fuzz-corpus"]

let package = Package(
    name: "BackpropFuzz",
    dependencies: [.package(name: "Backprop", path: "..")],
    targets: [
        // Declares libFuzzer's LLVMFuzzerRunDriver for the harnesses' entry points.
        .target(name: "FuzzDriver", path: "Sources/FuzzDriver")
    ]
        + harnesses.map {
            .executableTarget(
                name: $0, dependencies: [.product(name: "Backprop", package: "Backprop"), "FuzzDriver"],
                path: "Sources/\($0)")
        }
)
