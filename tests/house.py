#!/usr/bin/env python3
"""The house check: src/'s dependency graph, from the sources themselves.

Usage: tests/house.py [--max-lines N] [--edges] [SRCDIR]   (default: src/ beside tests/)

Nodes are the .c files of SRCDIR. An edge A.c -> B.c when
  - A.c calls a function that B.c defines and does not declare static
    (a call is a name followed by "(", in code: comments, strings and
    preprocessor lines are left out; "p->name (" and "s.name (" are calls
    through a pointer held in a struct, not to the function of that name;
    a name A.c defines static is A.c's own, whatever other files define;
    a name defined non-static in two files is ambiguous and makes no edge);
  - A.c itself includes "B.h": a header belongs to the .c of the same
    name, or else to the one .c that defines the functions it declares
    (seccomp-wall.h -> seccomp.c); a header whose functions several files
    define (cmd.h) belongs to none. A header that includes another for its
    types (mountopts.h includes config.h for struct moat_config) gives no
    edge: that is no call, and the .c files' own includes and calls say
    what they use.
A function's definition is found by its shape at file level, whatever the
layout (GNU style puts the name at column 0 on the line after its type):
a name, its parameters in parentheses, then a body "{".

It fails (exit 1) naming each circle (a strongly connected component of
more than one file, Tarjan's algorithm, shown as one cycle through it with
the reason for each step) and each .c or .h over the line limit, and prints
a short summary: files, edges, the biggest files.
"""

import os
import re
import sys

MAX_LINES = 1500
IDENT = re.compile(r"[A-Za-z_]\w*")
KEYWORDS = {
    "if", "for", "while", "switch", "return", "sizeof", "do", "else", "case",
    "_Alignof", "alignof", "_Static_assert", "__attribute__", "typeof",
    "__typeof__", "defined", "_Generic", "__builtin_expect", "asm", "__asm__",
}


def strip_code(text):
    """The text with comments, string and char literals blanked (newlines
    kept, so line numbers hold) and preprocessor lines emptied."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "/" and i + 1 < n and text[i + 1] == "*":
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "/" and i + 1 < n and text[i + 1] == "/":
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(c + re.sub(r"[^\n]", " ", text[i + 1:j - 1]) + c)
            i = j
        else:
            out.append(c)
            i += 1
    lines = "".join(out).split("\n")
    res, cont = [], False
    for ln in lines:
        # A preprocessor line (and its continuations) holds no definition
        # and no call that the compiler sees as one of this file's.
        if cont or ln.lstrip().startswith("#"):
            cont = ln.rstrip().endswith("\\")
            res.append("")
        else:
            res.append(ln)
    return "\n".join(res)


def definitions(code):
    """{name: is_static} of the functions CODE defines at file level."""
    defs = {}
    depth = 0
    chunk_start = 0
    for m in re.finditer(r"[{};]", code):
        ch = m.group()
        if ch == "{":
            if depth == 0:
                chunk = code[chunk_start:m.start()]
                # a name, its parameters (one level of nested parentheses,
                # as in a function-pointer parameter), then the body
                d = re.search(r"(\b[A-Za-z_]\w*)\s*\(((?:[^()]|\([^()]*\))*)\)\s*$", chunk)
                if d and d.group(1) not in KEYWORDS and "=" not in chunk:
                    defs[d.group(1)] = re.search(r"\bstatic\b", chunk) is not None
            depth += 1
        elif ch == "}":
            depth = max(depth - 1, 0)
            if depth == 0:
                chunk_start = m.end()
        elif depth == 0:
            chunk_start = m.end()
    return defs


def calls(code):
    """The names CODE calls directly (not through a struct's pointer)."""
    names = set()
    for m in re.finditer(r"(->|\.)?\s*\b([A-Za-z_]\w*)\s*\(", code):
        if m.group(1) is None and m.group(2) not in KEYWORDS:
            names.add(m.group(2))
    return names


def declared(code):
    """The names a header declares as functions (a name, then "(")."""
    return {m.group(1) for m in re.finditer(r"\b([A-Za-z_]\w*)\s*\(", code)} - KEYWORDS


def includes(text):
    return re.findall(r'^\s*#\s*include\s+"([^"]+)"', text, re.M)


def tarjan(nodes, adj):
    index, low, on, stack, sccs = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        # iterative, so a deep graph cannot overflow Python's stack
        work = [(v, iter(sorted(adj.get(v, ()))))]
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        while work:
            u, it = work[-1]
            nxt = next(it, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter[0]
                    counter[0] += 1
                    stack.append(nxt)
                    on.add(nxt)
                    work.append((nxt, iter(sorted(adj.get(nxt, ())))))
                elif nxt in on:
                    low[u] = min(low[u], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[u])
            if low[u] == index[u]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == u:
                        break
                sccs.append(sorted(comp))

    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return sccs


def cycle_in(comp, adj):
    """One cycle through the component's first file (shortest, by BFS)."""
    members = set(comp)
    start = comp[0]
    prev = {start: None}
    queue = [start]
    while queue:
        u = queue.pop(0)
        for w in sorted(adj.get(u, ())):
            if w not in members:
                continue
            if w == start:
                path = [u]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])
                return list(reversed(path)) + [start]
            if w not in prev:
                prev[w] = u
                queue.append(w)
    return comp + [start]


def main(argv):
    max_lines = MAX_LINES
    show_edges = False
    src = None
    args = list(argv)
    while args:
        a = args.pop(0)
        if a == "--max-lines":
            max_lines = int(args.pop(0))
        elif a == "--edges":
            show_edges = True
        elif a.startswith("-"):
            print(__doc__.strip().split("\n")[2], file=sys.stderr)
            return 2
        else:
            src = a
    if src is None:
        src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
    src = os.path.normpath(src)
    if not os.path.isdir(src):
        print("house: %s: not a directory" % src, file=sys.stderr)
        return 2

    files = sorted(f for f in os.listdir(src) if f.endswith((".c", ".h")))
    text, code, nlines = {}, {}, {}
    for f in files:
        with open(os.path.join(src, f), encoding="utf-8", errors="replace") as fh:
            text[f] = fh.read()
        code[f] = strip_code(text[f])
        nlines[f] = text[f].count("\n") + (0 if text[f].endswith("\n") or not text[f] else 1)
    cfiles = [f for f in files if f.endswith(".c")]

    defs = {f: definitions(code[f]) for f in cfiles}
    definers = {}
    for f in cfiles:
        for name, is_static in defs[f].items():
            if not is_static:
                definers.setdefault(name, []).append(f)
    ambiguous = sorted(n for n, fs in definers.items() if len(fs) > 1 and n != "main")

    reasons = {}  # (a, b) -> [why]

    def edge(a, b, why):
        if a != b:
            reasons.setdefault((a, b), []).append(why)

    for f in cfiles:
        own = defs[f]
        for name in sorted(calls(code[f])):
            if name in own:
                continue  # its own (static or not): no edge
            fs = definers.get(name, [])
            if len(fs) == 1:
                edge(f, fs[0], "calls %s()" % name)

    def owner(h):
        base = h[:-2] + ".c"
        if base in defs:
            return base
        owners = {definers[n][0] for n in declared(code.get(h, "")) if len(definers.get(n, [])) == 1}
        return owners.pop() if len(owners) == 1 else None

    for f in cfiles:
        for inc in includes(text[f]):
            inc = os.path.basename(inc)
            if inc in text:
                b = owner(inc)
                if b is not None:
                    edge(f, b, "includes %s" % inc)

    adj = {}
    for (a, b) in reasons:
        adj.setdefault(a, set()).add(b)

    failed = False
    circles = [c for c in tarjan(cfiles, adj) if len(c) > 1]
    big = sorted((f for f in files if nlines[f] > max_lines), key=lambda f: -nlines[f])

    print("house: %d files in %s (%d .c), %d edges (by includes and calls)"
          % (len(files), src, len(cfiles), len(reasons)))
    biggest = sorted(files, key=lambda f: -nlines[f])[:5]
    print("house: biggest: " + ", ".join("%s %d" % (f, nlines[f]) for f in biggest))
    if ambiguous:
        print("house: defined non-static in more than one file (no edge): " + ", ".join(ambiguous))
    if show_edges:
        for (a, b) in sorted(reasons):
            print("edge: %s -> %s: %s" % (a, b, "; ".join(reasons[(a, b)][:3])))
    for comp in circles:
        failed = True
        cyc = cycle_in(comp, adj)
        print("house: CIRCLE among %d files: %s" % (len(comp), " ".join(comp)))
        print("house:   for example " + " -> ".join(cyc))
        for a, b in zip(cyc, cyc[1:]):
            print("house:     %s -> %s: %s" % (a, b, "; ".join(reasons[(a, b)][:3])))
    for f in big:
        failed = True
        print("house: TOO BIG: %s has %d lines (limit %d)" % (f, nlines[f], max_lines))
    if not failed:
        print("house: ok: no circle, no file over %d lines" % max_lines)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
