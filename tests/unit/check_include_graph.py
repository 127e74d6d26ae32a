#!/usr/bin/env python3
"""The module graph of src/ has no dependency circle (issue 12).

A module is a header in include/ and its file in src/; module A depends on B
when src/A.c or include/A.h includes "B.h". A circle (A needs B needs A)
means neither can be understood, tested or replaced alone, which is how
struct daemon became a service locator. Prints every circle and fails.
"""
import os
import re
import sys

root = sys.argv[1]
graph = {}
for folder, ext in (("src", ".c"), ("include", ".h")):
    for name in os.listdir(os.path.join(root, folder)):
        if not name.endswith(ext):
            continue
        module = name[: -len(ext)]
        with open(os.path.join(root, folder, name), encoding="utf-8") as f:
            for inc in re.findall(r'^#include "([a-z_0-9]+)\.h"', f.read(), re.M):
                if inc != module and os.path.exists(os.path.join(root, "include", inc + ".h")):
                    graph.setdefault(module, set()).add(inc)

# Tarjan's strongly connected components: a component of more than one
# module is a circle.
index, low, stack, on_stack, circles = {}, {}, [], set(), []


def visit(v):
    index[v] = low[v] = len(index)
    stack.append(v)
    on_stack.add(v)
    for w in sorted(graph.get(v, ())):
        if w not in index:
            visit(w)
            low[v] = min(low[v], low[w])
        elif w in on_stack:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        component = []
        while True:
            w = stack.pop()
            on_stack.discard(w)
            component.append(w)
            if w == v:
                break
        if len(component) > 1:
            circles.append(sorted(component))


sys.setrecursionlimit(10000)
for module in sorted(graph):
    if module not in index:
        visit(module)
edges = sum(len(v) for v in graph.values())
if circles:
    for c in circles:
        print("dependency circle: " + " <-> ".join(c))
    sys.exit(1)
print(f"{len(graph)} modules, {edges} include edges, no dependency circle")
