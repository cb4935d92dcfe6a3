#!/usr/bin/env python3
"""Draws the training ratios of Scripts/compare-with-peer.sh's table as an SVG bar chart.

    Scripts/peer-chart.py TABLE.md --out chart.svg

Reads the markdown table (the rows whose setting is "1 core" or "2 cores" and their column
"ours / fastest peer"), and writes one pair of bars per workload (1 core, 2 cores), with
lines at 1.0 (as fast as the fastest peer) and at 1.25. Hand-written SVG, no dependencies.
"""
import argparse
import sys
from xml.sax.saxutils import escape


def read_table(path):
    """{workload: {setting: ratio}} in the table's order, and the header lines above it."""
    ratios, notes, header = {}, [], None
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if not line.startswith("|"):
            if line and header is None:
                notes.append(line)
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if header is None:
            header = cells
            continue
        if set(line) <= set("|-: "):
            continue
        row = dict(zip(header, cells))
        setting, value = row.get("setting", ""), row.get("ours / fastest peer", "")
        if setting not in ("1 core", "2 cores"):
            continue
        try:
            ratio = float(value)
        except ValueError:
            ratio = None
        ratios.setdefault(row["workload"], {})[setting] = ratio
    if header is None or "ours / fastest peer" not in header:
        sys.exit(f"peer-chart.py: {path} has no table with a column 'ours / fastest peer'")
    return ratios, notes


def chart(ratios, notes):
    width, height = 760, 380
    left, right, top, bottom = 60, 20, 50, 60
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for r in ratios.values() for v in r.values() if v is not None]
    y_max = max([1.5] + [v * 1.1 for v in values])
    y = lambda v: top + plot_h - v / y_max * plot_h
    colors = {"1 core": "#4878a8", "2 cores": "#e0884a"}
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
           'font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="14">Training speed, ours / fastest peer (higher: ours faster)</text>']
    if notes:
        out.append(f'<text x="{width / 2}" y="36" text-anchor="middle" font-size="10" fill="#555">{escape(notes[0][:120])}</text>')
    # axis and ticks
    step = 0.25 if y_max <= 2 else 0.5
    t = 0.0
    while t <= y_max + 1e-9:
        out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y(t):.1f}" y2="{y(t):.1f}" stroke="#eee"/>')
        out.append(f'<text x="{left - 6}" y="{y(t) + 4:.1f}" text-anchor="end">{t:.2f}</text>')
        t += step
    out.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + plot_h}" stroke="black"/>')
    out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="black"/>')
    # bars
    n = max(1, len(ratios))
    group = plot_w / n
    bar = group * 0.35
    for i, (workload, r) in enumerate(ratios.items()):
        x0 = left + i * group + group * 0.15
        for j, setting in enumerate(("1 core", "2 cores")):
            v = r.get(setting)
            x = x0 + j * bar
            if v is None:
                out.append(f'<text x="{x + bar / 2:.1f}" y="{y(0) - 4:.1f}" text-anchor="middle" fill="#999">—</text>')
                continue
            out.append(f'<rect x="{x:.1f}" y="{y(v):.1f}" width="{bar - 2:.1f}" height="{y(0) - y(v):.1f}" fill="{colors[setting]}"/>')
            out.append(f'<text x="{x + bar / 2:.1f}" y="{y(v) - 4:.1f}" text-anchor="middle" font-size="10">{v:.2f}</text>')
        out.append(f'<text x="{left + i * group + group / 2:.1f}" y="{top + plot_h + 18}" text-anchor="middle">{escape(workload)}</text>')
    # reference lines
    for level, dash in ((1.0, ""), (1.25, ' stroke-dasharray="6 4"')):
        out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y(level):.1f}" y2="{y(level):.1f}" stroke="#c00"{dash}/>')
        out.append(f'<text x="{left + plot_w - 2}" y="{y(level) - 4:.1f}" text-anchor="end" fill="#c00" font-size="10">{level:.2f}</text>')
    # legend
    lx = left + 10
    for j, setting in enumerate(("1 core", "2 cores")):
        out.append(f'<rect x="{lx + j * 90}" y="{height - 22}" width="12" height="12" fill="{colors[setting]}"/>')
        out.append(f'<text x="{lx + j * 90 + 16}" y="{height - 12}">{setting}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    p = argparse.ArgumentParser(description="SVG bar chart of compare-with-peer.sh's table")
    p.add_argument("table", help="the markdown table compare-with-peer.sh printed")
    p.add_argument("--out", required=True, help="the SVG file to write")
    a = p.parse_args()
    ratios, notes = read_table(a.table)
    if not ratios:
        sys.exit(f"peer-chart.py: {a.table} has no training rows (setting '1 core' or '2 cores')")
    with open(a.out, "w", encoding="utf-8") as f:
        f.write(chart(ratios, notes))


if __name__ == "__main__":
    main()
