#!/usr/bin/python3
"""Holds the documentation to the code (standard library only).

usage: docs_test.py DNSLB CONFIG_KEYS SOURCE_ROOT MANPAGE...

- every --option of `dnslb --help` is in dnslb(8) and the other way round; every option the
  README and docs/operators.md give to dnslb is in --help;
- every configuration key the parser accepts (config-keys prints its list) is documented in
  dnslb.json(5), every documented key is accepted, deprecated aliases are documented as such;
  the parser really accepts each listed key and rejects others, naming the accepted ones;
- every property of zones/zone.schema.json has an entry in dnslb-zone(5);
- groff renders every page without a warning.
Prints every mismatch and exits 1 if there is any.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

dnslb, config_keys_exe, root = sys.argv[1:4]
pages = {os.path.basename(p): p for p in sys.argv[4:]}
failures = []


def fail(msg):
    failures.append(msg)


def source(page):
    with open(os.path.join(root, "docs", "man", page + ".in"), encoding="utf-8") as f:
        return f.read()


OPTION = re.compile(r"(?<![\w-])--([a-z][a-z0-9-]*)")


def compare(name_a, a, name_b, b):
    for opt in sorted(a - b):
        fail(f"--{opt} is in {name_a} but not in {name_b}")


# --- options ---------------------------------------------------------------------------------
help_text = subprocess.run([dnslb, "--help"], capture_output=True, text=True, check=True).stdout
help_opts = set(OPTION.findall(help_text))
man_opts = set(re.findall(r"\bFl -([a-z][a-z0-9-]*)", source("dnslb.8")))
if len(help_opts) < 10 or len(man_opts) < 10:
    fail(f"too few options found: --help {len(help_opts)}, dnslb(8) {len(man_opts)}")
compare("dnslb --help", help_opts, "dnslb(8)", man_opts)
compare("dnslb(8)", man_opts, "dnslb --help", help_opts)

OTHER_TOOLS = ("meson", "tools/", "dig", "curl", "ninja", "python3", "install", "cp ",
               "systemctl", "journalctl", "git", "openssl", "rsync", "promtool",
               "etcd")


def doc_options(path):
    """--options the document gives to dnslb: in code spans and code blocks, not those of
    commands of other tools."""
    found = set()
    with open(path, encoding="utf-8") as f:
        text = f.read()
    in_block = False
    for line in text.splitlines():
        if line.startswith("```"):
            in_block = not in_block
            continue
        pieces = [line] if in_block else re.findall(r"`([^`]+)`", line)
        for piece in pieces:
            piece = piece.strip()
            if piece.startswith("$ "):
                piece = piece[2:]
            if piece.startswith(OTHER_TOOLS):
                continue
            found |= set(OPTION.findall(piece))
    return found


for doc in ("README.md", "docs/operators.md"):
    opts = doc_options(os.path.join(root, doc))
    if doc == "README.md" and len(opts) < 5:
        fail(f"{doc}: too few dnslb options found ({len(opts)})")
    compare(doc, opts, "dnslb --help", help_opts)

# --- configuration keys ----------------------------------------------------------------------
accepted = {}
for line in subprocess.run([config_keys_exe], capture_output=True, text=True,
                           check=True).stdout.splitlines():
    parts = line.split()
    accepted[parts[0]] = parts[2] if len(parts) == 3 else None
if len(accepted) < 20:
    fail(f"config-keys printed only {len(accepted)} keys")


def documented_keys(text):
    """(key path, deprecated?) of the ".It Ic" entries of KEYS and DEPRECATED KEYS."""
    out = []
    section_head = None
    sub = ""
    depth = 0
    for line in text.splitlines():
        if line.startswith(".Sh "):
            section_head = line[4:].strip().strip('"')
            sub = ""
            continue
        if section_head not in ("KEYS", "DEPRECATED KEYS"):
            continue
        if line.startswith(".Ss "):
            title = line[4:].strip().strip('"')
            sub = "" if title == "Top level" else title
        elif line.startswith(".Bl"):
            depth += 1
        elif line.startswith(".El"):
            depth -= 1
        elif line.startswith(".It ") and depth == 1:
            for key in re.findall(r"\bIc (\S+)", line):
                out.append((f"{sub}/{key}" if sub else key, section_head != "KEYS"))
    return out


documented = {}
for key, deprecated in documented_keys(source("dnslb.json.5")):
    if key not in accepted:
        head, _, leaf = key.rpartition("/")
        key = f"{head}/*/{leaf}" if f"{head}/*/{leaf}" in accepted else key
    documented[key] = deprecated
for key in sorted(set(documented) - set(accepted)):
    fail(f"dnslb.json(5) documents '{key}', which the parser does not accept")
for key in sorted(set(accepted) - set(documented)):
    fail(f"the parser accepts '{key}', which dnslb.json(5) does not document")
for key in sorted(set(accepted) & set(documented)):
    if (accepted[key] is not None) != documented[key]:
        fail(f"'{key}': {'an alias' if accepted[key] else 'not an alias'} in the parser, "
             f"{'under' if documented[key] else 'not under'} DEPRECATED KEYS in dnslb.json(5)")


def config_for(path, value):
    doc = value
    for part in reversed(path.split("/")):
        doc = {"10.0.0.0/8" if part == "*" else part: doc}
    return doc


def check_config(doc, tmp):
    cfg = os.path.join(tmp, "c.json")
    with open(cfg, "w", encoding="utf-8") as f:
        json.dump(doc, f)
    zones = os.path.join(tmp, "zones")
    os.makedirs(zones, exist_ok=True)
    r = subprocess.run([dnslb, "check", "--config", cfg, "--zones", zones],
                       capture_output=True, text=True)
    return r.stdout + r.stderr


with tempfile.TemporaryDirectory() as tmp:
    # A listed key is read: a null value draws a type error, never "unknown key".
    for key in accepted:
        out = check_config(config_for(key, None), tmp)
        if "unknown key" in out or "not read" in out:
            fail(f"the parser lists '{key}' but does not read it: {out.strip()}")
    # Anything else in a section is refused, and the error names the section's keys.
    sections = {k.rpartition("/")[0] for k in accepted}
    for section in sorted(sections):
        expected = [k.rpartition("/")[2] for k in accepted
                    if k.rpartition("/")[0] == section and accepted[k] is None
                    and not k.rpartition("/")[2].startswith("$")]
        path = f"{section}/no_such_key" if section else "no_such_key"
        out = check_config(config_for(path, 1), tmp)
        want = "unknown key (expected " + ", ".join(expected) + ")"
        if want not in out:
            fail(f"'{path}': expected '{want}' in: {out.strip()}")

# --- zone schema -----------------------------------------------------------------------------
with open(os.path.join(root, "zones", "zone.schema.json"), encoding="utf-8") as f:
    schema = json.load(f)
properties = set()


def walk(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "properties" and isinstance(v, dict):
                properties.update(v)
            walk(v)
    elif isinstance(node, list):
        for v in node:
            walk(v)


walk(schema)
zone_entries = set(re.findall(r"^\.It Ic (\S+)", source("dnslb-zone.5"), re.M))
if len(properties) < 30:
    fail(f"only {len(properties)} properties found in zone.schema.json")
for prop in sorted(properties - zone_entries):
    fail(f"zone.schema.json property '{prop}' has no entry in dnslb-zone(5)")

# --- rendering -------------------------------------------------------------------------------
for name in ("dnslb.8", "dnslb.json.5", "dnslb-zone.5"):
    if name not in pages:
        fail(f"{name} is not installed by meson")
        continue
    r = subprocess.run(["groff", "-mandoc", "-ww", "-z", pages[name]], capture_output=True,
                       text=True)
    if r.returncode != 0 or r.stderr:
        fail(f"groff warns about {name}: {r.stderr.strip()}")
    with open(pages[name], encoding="utf-8") as f:
        if "@VERSION@" in f.read():
            fail(f"{name}: @VERSION@ not filled in")

for msg in failures:
    print("FAIL:", msg)
print(f"{len(failures)} mismatches; --help {len(help_opts)} options, dnslb(8) {len(man_opts)}, "
      f"{len(accepted)} configuration keys, {len(properties)} zone schema properties")
sys.exit(1 if failures else 0)
