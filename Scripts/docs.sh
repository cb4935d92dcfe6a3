#!/usr/bin/env bash
# Builds the documentation: the library's symbol graphs (swift build -emit-symbol-graph), then
# `docc convert` of Sources/Backprop/Backprop.docc into a static site in .build/docs
# (open .build/docs/index.html through a local web server, e.g. `python3 -m http.server -d .build/docs`,
# then http://localhost:8000/documentation/backprop). Warnings (an unresolved symbol link, a
# missing topic, a malformed directive) fail the run. Only the toolchain is needed.
set -euo pipefail
cd "$(dirname "$0")/.."
# The symbol graphs of every module (this reuses the debug build of `swift build`/`swift test`);
# the catalog documents the library's module only.
out="$(swift package dump-symbol-graph --minimum-access-level public 2>&1)" || { echo "$out" >&2; exit 1; }
found="$(echo "$out" | sed -n 's/^Files written to //p' | tail -n 1)"
[ -n "$found" ] && [ -d "$found" ] || { echo "$out" >&2; echo "docs.sh: no symbol graph folder reported by swift package dump-symbol-graph" >&2; exit 1; }
graphs=.build/docs-symbol-graphs
rm -rf "$graphs" && mkdir -p "$graphs"
cp "$found"/Backprop.symbols.json "$graphs"/
cp "$found"/Backprop@*.symbols.json "$graphs"/ 2>/dev/null || true
docc="$(command -v docc || echo "$(dirname "$(readlink -f "$(command -v swift)")")/docc")"
rm -rf .build/docs
"$docc" convert Sources/Backprop/Backprop.docc \
    --additional-symbol-graph-dir "$graphs" \
    --fallback-display-name Backprop --fallback-bundle-identifier org.backprop.Backprop \
    --transform-for-static-hosting --output-path .build/docs \
    --warnings-as-errors "$@"
# Every public type, protocol and free function is listed under a topic (docc would put
# the others in automatic groups without a word; Scripts/check-docs-topics.py says which).
python3 Scripts/check-docs-topics.py "$graphs" Sources/Backprop/Backprop.docc
echo "documentation: .build/docs (python3 -m http.server -d .build/docs, then /documentation/backprop)"
