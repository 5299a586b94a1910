#!/usr/bin/env python3
"""The house's rooms (issue #16), checked: no hand-written source file over 400 lines, and no
import circle, neither among a Rust module's submodules (at every level of every crate) nor among
the UI's TypeScript files. Run from the repository's root; prints what it finds and exits 1 if
anything. `scripts/test.sh` runs it."""

import collections
import os
import re
import subprocess
import sys

MOST_LINES = 400
# Written by programs: the UI's types (ts-rs, `crates/app/tests/bindings.rs`).
GENERATED = {"ui/src/bindings.ts"}
SOURCES = (".rs", ".ts", ".tsx", ".py", ".sh", ".js", ".mjs")


def tracked():
    """The repository's files: git's list, or every file under the root outside a work tree."""
    got = subprocess.run(["git", "ls-files", "-z"], capture_output=True, text=True)
    if got.returncode == 0:
        return [p for p in got.stdout.split("\0") if p and os.path.isfile(p)]
    skip = {".git", "node_modules", "target", "dist", "pkg"}
    return [
        os.path.relpath(os.path.join(d, f))
        for d, dirs, names in os.walk(".")
        if not dirs.__setitem__(slice(None), [x for x in dirs if x not in skip])
        for f in names
    ]


def long_files(files):
    found = []
    for p in files:
        if p.endswith(SOURCES) and p not in GENERATED:
            with open(p, encoding="utf-8", errors="replace") as f:
                n = sum(1 for _ in f)
            if n > MOST_LINES:
                found.append(f"{p}: {n} lines (at most {MOST_LINES})")
    return found


def cycles(graph):
    """Every circle a depth-first walk of `graph` (node -> set of nodes) meets."""
    color, found = {}, []

    def walk(u, stack):
        color[u] = 1
        stack.append(u)
        for v in sorted(graph.get(u, ())):
            if color.get(v) == 1:
                found.append(stack[stack.index(v):] + [v])
            elif v not in color:
                walk(v, stack)
        stack.pop()
        color[u] = 2

    for u in sorted(graph):
        if u not in color:
            walk(u, [])
    return found


def rust_module(root, path):
    parts = os.path.relpath(path, root)[:-3].split("/")
    return parts[:-1] if parts[-1] in ("mod", "lib", "main") else parts


def rust_circles(files):
    """Circles among sibling modules: `a` uses `b` when a file in `a` names a path into `b`
    (`super::b`, `crate::x::b`, `use super::{b, …}`)."""
    roots = sorted({p.split("/src/")[0] + "/src" for p in files if "/src/" in p and p.endswith(".rs")})
    roots += ["tests/harness"]
    found = []
    for root in roots:
        mods = {}
        for p in files:
            if p.startswith(root + "/") and p.endswith(".rs"):
                m = rust_module(root, p)
                if not any(x == "tests" or x.endswith("_tests") for x in m):
                    mods[p] = m
        known = {tuple(m) for m in mods.values()}
        edges = collections.defaultdict(lambda: collections.defaultdict(set))
        for p, here in mods.items():
            with open(p, encoding="utf-8") as f:
                src = f.read()
            # An inline test module ends what the module uses; `mod tests;` is a file of its own.
            cut = src.find("#[cfg(test)]\nmod tests {")
            src = re.sub(r"//[^\n]*", "", src if cut < 0 else src[:cut])
            refs = [m.group(1) for m in re.finditer(r"\b((?:crate|super|self)(?:::(?:super|[a-z_0-9]+))+)", src)]
            for m in re.finditer(r"\b((?:crate|super|self)(?:::(?:super|[a-z_0-9]+))*)::\{([^}]*)\}", src):
                for item in m.group(2).split(","):
                    first = item.strip().split("::")[0].strip()
                    if re.fullmatch(r"[a-z_0-9]+", first):
                        refs.append(m.group(1) + "::" + first)
            for ref in refs:
                parts = ref.split("::")
                at = [] if parts[0] == "crate" else list(here)
                for x in parts[1:] if parts[0] == "crate" else parts:
                    if x == "self":
                        continue
                    if x == "super":
                        at = at[:-1]
                    elif tuple(at + [x]) in known:
                        at = at + [x]
                    else:
                        break
                k = 0
                while k < min(len(here), len(at)) and here[k] == at[k]:
                    k += 1
                if k < len(here) and k < len(at):
                    edges[tuple(here[:k])][here[k]].add(at[k])
        for parent, graph in sorted(edges.items()):
            for c in cycles(graph):
                found.append(f"{root}: {'::'.join(('crate',) + parent)}: " + " -> ".join(c))
    return found


def ts_circles(files):
    """Circles among the UI's files through value imports (`import type` is erased)."""
    ui = {os.path.normpath(p) for p in files if p.startswith("ui/src/") and p.endswith((".ts", ".tsx"))}
    graph = collections.defaultdict(set)
    for p in ui:
        with open(p, encoding="utf-8") as f:
            src = f.read()
        for m in re.finditer(r"^\s*(?:import|export)\s+(type\s+)?[^;]*?from\s+['\"](\.[^'\"]+)['\"]", src, re.M):
            if m.group(1):
                continue
            t = os.path.normpath(os.path.join(os.path.dirname(p), m.group(2)))
            for c in (t, t + ".ts", t + ".tsx", t + "/index.ts", t + "/index.tsx", re.sub(r"\.js$", ".ts", t)):
                if c in ui:
                    graph[p].add(c)
                    break
    return [" -> ".join(c) for c in cycles(graph)]


def main():
    files = tracked()
    problems = long_files(files) + rust_circles(files) + ts_circles(files)
    for p in problems:
        print(p)
    if problems:
        sys.exit(f"{len(problems)} room(s) to mend: split long files; break circles by moving what both sides use")
    print("rooms: no source file over 400 lines, no import circles")


if __name__ == "__main__":
    main()
