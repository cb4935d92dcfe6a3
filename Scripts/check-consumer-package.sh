#!/usr/bin/env bash
# Builds and runs the README's first example as a user would: in a new package (Swift 6
# language mode, as `swift package init` makes today) that depends on this checkout by path.
#
#   Scripts/check-consumer-package.sh [WORKDIR]      (default: a new temporary folder)
#
# Exits non-zero if the example does not compile or its run fails.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-$(mktemp -d)}"
mkdir -p "$work/Sources/FirstNetwork"
# A path dependency's identity is its folder's name: that is what `.product(package:)` names.
identity="$(basename "$repo")"

cat > "$work/Package.swift" <<SWIFT
// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "FirstNetwork",
    dependencies: [
        .package(path: "$repo"),
    ],
    targets: [
        .executableTarget(name: "FirstNetwork", dependencies: [
            .product(name: "Backprop", package: "$identity"),
        ]),
    ]
)
SWIFT

# The first ```swift block after "## A first network" in the README, as it stands.
awk '/^## A first network/ { section = 1 }
     section && /^```swift/ { inside = 1; next }
     inside && /^```/ { exit }
     inside { print }' "$repo/README.md" > "$work/Sources/FirstNetwork/main.swift"
[ -s "$work/Sources/FirstNetwork/main.swift" ] || { echo "no swift block found after '## A first network' in README.md" >&2; exit 1; }

echo "building the README's first example in $work (depends on $repo as '$identity')"
swift build --package-path "$work" 2>&1 | tail -n 3
"$work/.build/debug/FirstNetwork" > "$work/output.txt"
tail -n 3 "$work/output.txt"
