#!/usr/bin/python3
"""The house's floors (DESIGN.md): a file includes headers of its own floor or of floors below it,
never of one above. From the ground up:

    base  <-  partners, transforms  <-  connectors, audit  <-  gateway

Folders on one floor may include each other's headers. A header name must be unique across the
folders, since the compiler finds it by name (-I order would otherwise decide which one is meant).
No source file of the floors is longer than MAX_LINES: a longer one does more than one thing and
is split by what it does.

Usage: check_floors.py [ROOT]. Prints every problem and exits 1 if there is one.
"""

import os
import re
import sys

FLOOR = {"base": 0, "partners": 1, "transforms": 1, "connectors": 2, "audit": 2, "gateway": 3}

MAX_LINES = 800

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))
    problems, home = [], {}
    for folder in FLOOR:
        for name in sorted(os.listdir(os.path.join(root, folder))):
            if name.endswith(".h"):
                if name in home:
                    problems.append("%s/%s: also in %s/" % (folder, name, home[name]))
                home[name] = folder
    for folder, floor in FLOOR.items():
        for name in sorted(os.listdir(os.path.join(root, folder))):
            if not name.endswith((".c", ".h")):
                continue
            path = "%s/%s" % (folder, name)
            with open(os.path.join(root, path), errors="replace") as f:
                lines = f.readlines()
            if name.endswith(".c") and len(lines) > MAX_LINES:
                problems.append("%s: %d lines, more than %d" % (path, len(lines), MAX_LINES))
            for n, line in enumerate(lines, 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                header = os.path.basename(m.group(1))
                target = home.get(header)
                if target is None or FLOOR[target] <= floor:
                    continue
                problems.append("%s:%d: includes %s/%s, a floor above %s/" %
                                (path, n, target, header, folder))
    for p in problems:
        print("floors: " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
