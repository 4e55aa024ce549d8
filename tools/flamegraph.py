#!/usr/bin/env python3
"""Folds `perf script` output into stacks and draws them as a flame graph SVG.

Debian has no flame graph package, and the format is simple: each sample is a stack, stacks
are merged by prefix, and each frame is a box as wide as its share of the samples.

  perf script -i perf.data | tools/flamegraph.py --title "..." > graph.svg
  perf script -i perf.data | tools/flamegraph.py --folded > stacks.txt   # one line per stack
"""
import argparse
import collections
import html
import re
import sys

# perf's inlined-frame and template noise makes frames unreadable; keep the function's name.
_TEMPLATE = re.compile(r"<[^<>]*>")


def short_name(sym):
    sym = sym.replace(" (inlined)", "")
    for _ in range(8):  # strip nested template arguments from the inside out
        stripped = _TEMPLATE.sub("", sym)
        if stripped == sym:
            break
        sym = stripped
    sym = re.sub(r"\(.*\)", "", sym)  # argument lists
    return sym.strip() or "[unknown]"


def fold(lines):
    """Yields (stack, 1) per sample of `perf script` output: root first, `comm` as the root."""
    stack, comm = [], None
    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            if comm is not None and stack:
                yield [comm] + list(reversed(stack))
            stack, comm = [], None
            continue
        if comm is None and not line.startswith((" ", "\t")):
            comm = line.split()[0]
            continue
        parts = line.strip().split(None, 1)
        if len(parts) == 2:
            sym = parts[1]
            if sym.endswith(")") and " (" in sym:  # " (/path/to/dso)" or " ([kernel.kallsyms])"
                sym, dso = sym.rsplit(" (", 1)
                if "kernel" in dso:
                    sym += " [k]"
            sym = re.sub(r"\+0x[0-9a-f]+", "", sym)
            stack.append(short_name(sym))
    if comm is not None and stack:
        yield [comm] + list(reversed(stack))


def build_tree(stacks):
    root = {"n": 0, "c": collections.OrderedDict()}
    for s in stacks:
        root["n"] += 1
        node = root
        for f in s:
            node = node["c"].setdefault(f, {"n": 0, "c": collections.OrderedDict()})
            node["n"] += 1
    return root


def color(name):
    h = hash(name) & 0xFFFF
    if name.startswith("rocksdb::"):
        return "rgb(%d,%d,%d)" % (80 + h % 40, 140 + h % 60, 200)
    if name.startswith("ringkv::"):
        return "rgb(%d,%d,%d)" % (220, 120 + h % 80, 40)
    if "[k]" in name or name.startswith(("__x64_sys", "do_syscall", "entry_SYSCALL")):
        return "rgb(%d,%d,%d)" % (160 + h % 40, 160 + h % 40, 160 + h % 40)
    return "rgb(%d,%d,%d)" % (230, 80 + h % 100, 60 + h % 40)


def svg(tree, title, width=1600, row=16):
    boxes = []
    depth_max = [0]

    def walk(node, name, x, depth):
        w = node["n"] / tree["n"] * width
        if w < 1.0:  # narrower than a pixel: invisible, and it would bloat the file
            return
        depth_max[0] = max(depth_max[0], depth)
        if name is not None:
            boxes.append((x, depth, w, name, node["n"]))
        cx = x
        for child_name, child in sorted(node["c"].items()):
            walk(child, child_name, cx, depth + 1)
            cx += child["n"] / tree["n"] * width

    walk(tree, None, 0.0, -1)
    height = (depth_max[0] + 3) * row + 30
    out = ['<?xml version="1.0" standalone="no"?>',
           f'<svg version="1.1" width="{width}" height="{height}" '
           'xmlns="http://www.w3.org/2000/svg" font-family="monospace" font-size="11">',
           f'<text x="{width / 2}" y="18" text-anchor="middle" font-size="15">'
           f'{html.escape(title)} ({tree["n"]} samples)</text>']
    for x, depth, w, name, n in boxes:
        y = height - (depth + 2) * row
        pct = 100.0 * n / tree["n"]
        label = html.escape(name)
        chars = int(w / 7)
        text = label if len(name) <= chars else (html.escape(name[: chars - 2]) + ".." if chars > 3 else "")
        out.append(f'<g><title>{label} ({n} samples, {pct:.2f}%)</title>'
                   f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{row - 1}" '
                   f'fill="{color(name)}" rx="2"/>'
                   f'<text x="{x + 3:.1f}" y="{y + row - 4}">{text}</text></g>')
    out.append("</svg>")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--title", default="flame graph")
    ap.add_argument("--folded", action="store_true", help="print folded stacks, not an SVG")
    args = ap.parse_args()
    stacks = list(fold(sys.stdin))
    if not stacks:
        sys.exit("flamegraph.py: no samples on stdin (expected `perf script` output with call graphs)")
    if args.folded:
        counts = collections.Counter(";".join(s) for s in stacks)
        for s, n in counts.most_common():
            print(f"{s} {n}")
        return
    print(svg(build_tree(stacks), args.title))


if __name__ == "__main__":
    main()
