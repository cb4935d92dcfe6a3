#!/usr/bin/env python3
"""Checks that the DocC catalog lists every public top-level symbol of the library under a
topic: docc itself would silently put a forgotten one in an automatic group.

    Scripts/check-docs-topics.py SYMBOL_GRAPH_DIR CATALOG_DIR
"""
import json
import os
import re
import sys

graphs, catalog = sys.argv[1], sys.argv[2]
symbols = set()
for name in os.listdir(graphs):
    if name.startswith("Backprop") and name.endswith(".symbols.json") and "@" not in name:
        for s in json.load(open(os.path.join(graphs, name)))["symbols"]:
            if len(s["pathComponents"]) == 1 and s["kind"]["identifier"] != "swift.func.op":
                symbols.add(s["pathComponents"][0])
listed = set()
for folder, _, files in os.walk(catalog):
    for name in files:
        if name.endswith(".md"):
            text = open(os.path.join(folder, name), encoding="utf-8").read()
            listed |= set(re.findall(r"^- ``([^`/]+)``", text, re.M))
missing = sorted(symbols - listed)
if missing:
    sys.exit("public symbols under no topic of the catalog (add them to a `- ``Symbol``` list in "
             "Sources/Backprop/Backprop.docc/Backprop.md): " + ", ".join(missing))
print(f"documentation topics: all {len(symbols)} public top-level symbols are listed")
