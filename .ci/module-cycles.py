#!/usr/bin/env python3
"""No module cycles: fails when, inside a crate, a module uses an item of a module that
(directly or through others) uses one of its items back.

cargo-modules draws the item graph (its own --acyclic check also counts a type and its
methods as a cycle, which says nothing about modules); this folds every `uses` edge
onto the modules of its two ends and looks for a cycle among those modules with the
standard library's topological sorter.

Usage: module-cycles.py PACKAGE [cargo-modules selection flags...]
"""
import graphlib
import re
import subprocess
import sys

NODE = re.compile(r'^\s*"([^"]+)" \[label="([^|"]*)\|')
USES = re.compile(r'^\s*"([^"]+)" -> "([^"]+)" \[label="uses"')


def main() -> int:
    package, *selection = sys.argv[1:]
    dot = subprocess.run(
        ["cargo", "modules", "dependencies", "-p", package, *selection,
         "--no-externs", "--no-sysroot", "--no-owns"],
        check=True, capture_output=True, text=True,
    ).stdout
    items = set()
    edges = []
    for line in dot.splitlines():
        if node := NODE.match(line):
            path, label = node.groups()
            if label.split()[-1] not in ("mod", "crate"):
                items.add(path)
        elif uses := USES.match(line):
            edges.append(uses.groups())

    # An item's module is its path less the item (and, for a method, less its type);
    # cargo-modules leaves out some module nodes, so modules are what is left.
    def module_of(path: str) -> str:
        while path in items and "::" in path:
            path = path.rsplit("::", 1)[0]
        return path

    modules = {module_of(path) for edge in edges for path in edge}

    graph: dict[str, set[str]] = {module: set() for module in modules}
    for source, target in edges:
        user, used = module_of(source), module_of(target)
        if user != used:
            graph[user].add(used)
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as error:
        cycle = " -> ".join(error.args[1])
        print(f"{package}: module cycle: {cycle}", file=sys.stderr)
        return 1
    print(f"{package}: {len(modules)} modules, {sum(map(len, graph.values()))} module dependencies, no cycle")
    return 0


if __name__ == "__main__":
    sys.exit(main())
