#!/usr/bin/env bash
# Builds and runs the README's first example, then its MNIST block (a model trained and
# saved), as a user would: in a new package (Swift 6 language mode, as `swift package init`
# makes today) whose manifest holds the README's `dependencies` and `targets` lines,
# depending on this checkout by path.
#
#   Scripts/check-consumer-package.sh [WORKDIR]      (default: a new temporary folder)
#
# Exits non-zero if the example does not compile or its run fails.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-$(mktemp -d)}"
mkdir -p "$work/Sources/MyNet"
# A path dependency's identity is its folder's name: that is what `.product(package:)` names.
identity="$(basename "$repo")"

# The manifest lines of the README's "Use it in your package" (the block after
# `<!-- snippet: manifest -->`), with this checkout's path and identity put in, as the
# README tells a user to do.
lines="$(awk '/<!-- snippet: manifest -->/ { marked = 1; next }
              marked && /^```swift/ { inside = 1; next }
              inside && /^```/ { exit }
              inside { print }' "$repo/README.md")"
[ -n "$lines" ] || { echo "no manifest block (<!-- snippet: manifest -->) in README.md" >&2; exit 1; }
lines="${lines//\.package(path: \"..\/Backprop\")/.package(path: \"$repo\")}"
lines="${lines//package: \"Backprop\"/package: \"$identity\"}"
{
    echo '// swift-tools-version:6.0'
    echo 'import PackageDescription'
    echo
    echo 'let package = Package('
    echo '    name: "MyNet",'
    echo "$lines"
    echo ')'
} > "$work/Package.swift"

# The first ```swift block after "## A first network" in the README, as it stands.
# The first ```swift block after the README line that starts with $1, as the package's main.swift.
readme_block_as_main() {
    awk -v start="$1" 'index($0, start) == 1 { section = 1 }
         section && /^```swift/ { inside = 1; next }
         inside && /^```/ { exit }
         inside { print }' "$repo/README.md" > "$work/Sources/MyNet/main.swift"
    [ -s "$work/Sources/MyNet/main.swift" ] || { echo "no swift block found after '$1' in README.md" >&2; exit 1; }
}
readme_block_as_main "## A first network"

echo "building the README's first example in $work (depends on $repo as '$identity')"
swift build --package-path "$work" 2>&1 | tail -n 3
"$work/.build/debug/MyNet" > "$work/output.txt"
tail -n 3 "$work/output.txt"

# Then the README's MNIST block (the first ```swift block after "On MNIST"), in the same
# package, on the MNIST files of $MNIST_DIR (or ../shared/data/mnist) linked as Data/mnist:
# a user's trained model, saved. Skipped without the data, except when CI=true.
mnist="${MNIST_DIR:-$repo/../shared/data/mnist}"
if ! ls "$mnist"/train-images-idx3-ubyte* >/dev/null 2>&1; then
    if [ "${CI:-}" = "true" ]; then echo "CI=true but no MNIST in $mnist (set MNIST_DIR)" >&2; exit 1; fi
    echo "skipped the README's MNIST block: no MNIST in $mnist (set MNIST_DIR or run Scripts/download-mnist.sh)"
    exit 0
fi
readme_block_as_main "On MNIST"
mkdir -p "$work/Data"
ln -sfn "$(cd "$mnist" && pwd)" "$work/Data/mnist"
echo "building and running the README's MNIST block in $work"
swift build --package-path "$work" 2>&1 | tail -n 1
(cd "$work" && .build/debug/MyNet) | tee "$work/mnist-output.txt"
# the block trains two epochs: the last test accuracy must be a trained model's
awk '/test accuracy/ { a = $NF } END { if (a < 0.9) { print "the README'"'"'s MNIST block reached only " a > "/dev/stderr"; exit 1 } }' "$work/mnist-output.txt"
[ -s "$work/mnist-mlp.safetensors" ] || { echo "the README's MNIST block saved no model" >&2; exit 1; }
