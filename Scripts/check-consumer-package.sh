#!/usr/bin/env bash
# Builds and runs the README's first example as a user would: in a new package (Swift 6
# language mode, as `swift package init` makes today) whose manifest holds the README's
# `dependencies` and `targets` lines, depending on this checkout by path.
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
awk '/^## A first network/ { section = 1 }
     section && /^```swift/ { inside = 1; next }
     inside && /^```/ { exit }
     inside { print }' "$repo/README.md" > "$work/Sources/MyNet/main.swift"
[ -s "$work/Sources/MyNet/main.swift" ] || { echo "no swift block found after '## A first network' in README.md" >&2; exit 1; }

echo "building the README's first example in $work (depends on $repo as '$identity')"
swift build --package-path "$work" 2>&1 | tail -n 3
"$work/.build/debug/MyNet" > "$work/output.txt"
tail -n 3 "$work/output.txt"
