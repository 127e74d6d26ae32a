#!/usr/bin/env python3
"""Every module of src/ has a unit suite (issue 12; style.md: tests/unit
mirrors src/ one module to one Check suite).

For every src/X.c except main.c there must be tests/unit/test_X.c, or a
tests/unit/test_*.c whose first comment names X.c in its opening clause, the
text before the first ':' or full stop ("Unit tests for control.c and
control_reply.c: ..."). A module named later in the comment ("... the shape
of control_reply.c") or as a path (tests/support/sip_path.c) is a reference,
not a claim of coverage.
Prints every module without a suite, and fails; with --list, prints which
suite covers each module.
"""
import os
import re
import sys

EXEMPT = {"main.c"}  # argument parsing and daemonising only; cmdline.c is tested

FIRST_COMMENT = re.compile(r"\A\s*/\*(.*?)\*/", re.S)
CLAUSE_END = re.compile(r"[:.](?=\s|$)")
MODULE_NAME = re.compile(r"(?<![/\w.])([a-z0-9_]+\.c)\b")


def claims(path):
    """The modules a test file's first comment says it covers."""
    with open(path, encoding="utf-8") as f:
        m = FIRST_COMMENT.match(f.read())
    if not m:
        return set()
    opening = CLAUSE_END.split(m.group(1), maxsplit=1)[0]
    return set(MODULE_NAME.findall(opening))


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    if len(args) != 1:
        print("usage: check_unit_suites.py [--list] SOURCE_DIR", file=sys.stderr)
        return 2
    root = args[0]
    src = os.path.join(root, "src")
    unit = os.path.join(root, "tests", "unit")
    modules = sorted(n for n in os.listdir(src) if n.endswith(".c") and n not in EXEMPT)
    tests = sorted(n for n in os.listdir(unit) if n.startswith("test_") and n.endswith(".c"))

    covered = {}
    for t in tests:
        own = t[len("test_"):]
        if own in modules:
            covered.setdefault(own, []).append(t)
        for module in claims(os.path.join(unit, t)):
            if module != own and module in modules:
                covered.setdefault(module, []).append(t)

    if "--list" in argv:
        for module in modules:
            print(f"{module}: {', '.join(covered.get(module, ['-']))}")
    missing = [m for m in modules if m not in covered]
    for m in missing:
        print(f"src/{m}: no unit suite (tests/unit/test_{m}, or a test_*.c whose first comment "
              f"says it covers {m})")
    if missing:
        print(f"{len(missing)} of {len(modules)} modules have no unit suite")
        return 1
    print(f"all {len(modules)} modules of src/ have a unit suite")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
