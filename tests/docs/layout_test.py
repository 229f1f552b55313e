#!/usr/bin/env python3
"""The README's Layout table against the tree: every #include between folders of dnslb/ and
probes/ must be one the table allows, no two folders may include each other, no source file
may pass 900 lines and no folder 20% of the lines of dnslb/ and probes/.

Usage: layout_test.py SOURCE_ROOT
"""
import os
import re
import sys

root = sys.argv[1]
MAX_FILE_LINES = 900
MAX_FOLDER_SHARE = 0.20
failures = []


def fail(msg):
    failures.append(msg)


def short(folder):
    """'dnslb/zone' -> 'zone', 'dnslb' -> 'dnslb', 'probes' -> 'probes'."""
    return folder.split("/", 1)[1] if folder.startswith("dnslb/") else folder


# The table: | `folder/` | what | may include |
allowed = {}
with open(os.path.join(root, "README.md"), encoding="utf-8") as f:
    text = f.read()
section = text.split("## Layout", 1)[1].split("\n## ", 1)[0]
for line in section.splitlines():
    m = re.match(r"\|\s*`([^`]+)/`[^|]*\|[^|]*\|([^|]*)\|\s*$", line)
    if not m:
        continue
    folder = m.group(1).rstrip("/")
    deps = m.group(2).strip()
    allowed[short(folder)] = set() if deps in ("—", "-", "") else {
        d.strip() for d in deps.split(",")}
if len(allowed) < 10:
    fail(f"README.md: Layout table not found or too short ({len(allowed)} rows)")

edges = {}
lines_by_folder = {}
total = 0
for top in ("dnslb", "probes"):
    for dirpath, _, names in os.walk(os.path.join(root, top)):
        for name in sorted(names):
            if not name.endswith((".cpp", ".hpp")):
                continue
            path = os.path.relpath(os.path.join(dirpath, name), root)
            folder = short(os.path.dirname(path))
            with open(os.path.join(root, path), encoding="utf-8") as f:
                src = f.read()
            n = src.count("\n")
            total += n
            lines_by_folder[folder] = lines_by_folder.get(folder, 0) + n
            if n > MAX_FILE_LINES:
                fail(f"{path}: {n} lines (at most {MAX_FILE_LINES})")
            if folder not in allowed:
                fail(f"{path}: folder '{folder}' is not in the README's Layout table")
                continue
            for inc in re.findall(r'^#include "([^"]+)"', src, re.M):
                target = short(os.path.dirname(inc))
                if target == folder:
                    continue
                edges.setdefault(folder, set()).add(target)
                if target not in allowed[folder]:
                    fail(f"{path}: includes {inc}, but {folder}/ may include only "
                         f"{', '.join(sorted(allowed[folder])) or 'nothing'}")

for a, targets in sorted(edges.items()):
    for b in sorted(targets):
        if a < b and a in edges.get(b, ()):
            fail(f"{a}/ and {b}/ include each other")
for folder, n in sorted(lines_by_folder.items()):
    if n > MAX_FOLDER_SHARE * total:
        fail(f"{folder}/: {n} of {total} lines ({100 * n / total:.1f}%, at most "
             f"{100 * MAX_FOLDER_SHARE:.0f}%)")

for msg in failures:
    print("FAIL:", msg)
biggest = max(lines_by_folder.items(), key=lambda kv: kv[1])
print(f"{len(failures)} problems; {len(lines_by_folder)} folders, {total} lines, largest "
      f"{biggest[0]}/ at {100 * biggest[1] / total:.1f}%")
sys.exit(1 if failures else 0)
