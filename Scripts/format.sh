#!/usr/bin/env bash
# Formats every Swift file of the project with swift-format and the project's .swift-format
# (the toolchain's `swift format`), or with --lint only checks that they are already so
# formatted: .ci/run runs the check. The generated Tests/DocSnippetTests/Snippets.swift is
# left as Scripts/extract-snippets.py writes it.
set -euo pipefail
cd "$(dirname "$0")/.."
files=()
while IFS= read -r f; do files+=("$f"); done < <(git ls-files '*.swift' ':!Tests/DocSnippetTests/Snippets.swift')
if [ "${1:-}" = "--lint" ]; then
    swift format lint --strict --parallel "${files[@]}"
else
    swift format format --in-place --parallel "${files[@]}"
fi
