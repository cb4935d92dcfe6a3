// swift-tools-version:5.9
// Backprop: modular neural networks for Swift on Linux, in the tradition of Torch7's `nn`.
import PackageDescription

let package = Package(
    name: "Backprop",
    products: [
        .library(name: "Backprop", targets: ["Backprop"]),
        .executable(name: "mnist-mlp", targets: ["mnist-mlp"]),
    ],
    targets: [
        // System libraries: OpenBLAS (CBLAS + LAPACK) and zlib. No Swift package dependencies.
        .systemLibrary(
            name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(
            name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]),

        .target(name: "Backprop", dependencies: ["COpenBLAS", "CZlib"], path: "Sources/Backprop"),

        // Shared option parsing and reporting for the examples (not part of the library).
        .target(name: "ExampleSupport", dependencies: ["Backprop"], path: "Examples/ExampleSupport"),
        .executableTarget(name: "mnist-mlp", dependencies: ["Backprop", "ExampleSupport"], path: "Examples/mnist-mlp"),

        .testTarget(name: "BackpropTests", dependencies: ["Backprop"], path: "Tests/BackpropTests"),
    ]
)
