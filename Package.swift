// swift-tools-version:6.0
// Backprop: modular neural networks for Swift on Linux, in the tradition of Torch7's `nn`.
import PackageDescription

/// The bundled examples: one executable each, sources in Examples/<name>/main.swift.
let examples = [
    "mnist-mlp",
    "mnist-convnet",
    "mnist-resnet",
    "sequential-mnist",
    "char-lstm",
    "autoencoder",
    "deep-autoencoder",
    "stacked-autoencoder",
    "vae",
    "gan",
]

let package = Package(
    name: "Backprop",
    products: [
        .library(name: "Backprop", targets: ["Backprop"]),
        .executable(name: "backprop-bench", targets: ["backprop-bench"]),
    ] + examples.map { .executable(name: $0, targets: [$0]) },
    targets: [
        // System libraries: OpenBLAS (CBLAS + LAPACK) and zlib. No Swift package dependencies.
        .systemLibrary(
            name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(
            name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]),

        // The Float hot loops in C, one file per module family (activations, LSTM steps,
        // convolution, optimizers) plus the thread pool, each compiled for AVX-512, AVX2 and
        // the baseline at once (the loader picks one for the CPU).
        .target(name: "CKernels", path: "Sources/CKernels"),

        .target(name: "Backprop", dependencies: ["COpenBLAS", "CZlib", "CKernels"], path: "Sources/Backprop"),

        // Option parsing and data location shared by the examples (not part of the library).
        .target(name: "ExampleSupport", dependencies: ["Backprop"], path: "Examples/ExampleSupport"),

        // The training-throughput harness (shared/bench/WORKLOADS.md).
        .executableTarget(name: "backprop-bench", dependencies: ["Backprop", "ExampleSupport"], path: "Benchmarks/backprop-bench"),

        .testTarget(name: "BackpropTests", dependencies: ["Backprop", "CKernels"], path: "Tests/BackpropTests",
                    exclude: ["Reference/Fixtures"]),
        // Option parsing, and the examples run as programs on bad input (they must be built:
        // `swift build --build-tests` puts them next to the test bundle).
        .testTarget(name: "ExampleTests", dependencies: ["ExampleSupport", "Backprop"], path: "Tests/ExampleTests"),
    ] + examples.map {
        .executableTarget(name: $0, dependencies: ["Backprop", "ExampleSupport"], path: "Examples/\($0)")
    }
)
