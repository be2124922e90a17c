#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# The call check: from the built objects of src/ (nm), no file calls a
# function of a file in a higher layer, and no files call each other in a
# circle. The layer order is read from the LAYERS line of
# check-layers.sh, the one place it is written.
#
# Usage: check-calls.py [--self-test]   (top_srcdir and top_builddir in
# the environment name the source and build trees, default the source tree
# and the current directory; the objects are in libtool's object
# directory, CMK_OBJDIR or the one the build's libtool script names). Exit
# 0 clean, 1 with one line per upward edge or circle, 99 on a hard error.
import collections, glob, os, re, subprocess, sys


def layers(top):
    with open(os.path.join(top, 'tests/lint/check-layers.sh')) as f:
        m = re.search(r"^LAYERS='([^']*)'", f.read(), re.M)
    return m.group(1).split()


def objdir(build):
    """libtool's object directory, as the build's libtool script names it."""
    if os.environ.get('CMK_OBJDIR'):
        return os.environ['CMK_OBJDIR']
    try:
        with open(os.path.join(build, 'libtool')) as f:
            for line in f:
                if line.startswith('objdir='):
                    return line.strip()[len('objdir='):]
    except OSError:
        pass
    return None


def graph(top, build, odir):
    """file -> set of files it calls, over the library's objects."""
    objs = {}
    for o in glob.glob(os.path.join(build, 'src', '*', odir, '*.o')):
        rel = os.path.relpath(o, build).split(os.sep)
        d, n = rel[1], os.path.basename(o)[:-2]
        if os.path.exists(os.path.join(top, 'src', d, n + '.c')):
            objs[d + '/' + n] = o
    defs, undef = {}, {}
    for k, o in objs.items():
        out = subprocess.run(['nm', '--defined-only', '-g', o],
                             capture_output=True, text=True, check=True)
        for line in out.stdout.splitlines():
            p = line.split()
            if len(p) == 3:
                defs[p[2]] = k
        out = subprocess.run(['nm', '-u', o], capture_output=True,
                             text=True, check=True)
        undef[k] = [l.split()[-1] for l in out.stdout.splitlines() if l]
    g = collections.defaultdict(set)
    for k, syms in undef.items():
        for s in syms:
            if s in defs and defs[s] != k:
                g[k].add(defs[s])
    return objs.keys(), g


def circles(nodes, g):
    """Strongly connected components of more than one file (Tarjan)."""
    idx, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        idx[v] = low[v] = len(idx)
        stack.append(v)
        on.add(v)
        for w in sorted(g[v]):
            if w not in idx:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], idx[w])
        if low[v] == idx[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(nodes):
        if v not in idx:
            visit(v)
    return out


def problems(order, nodes, g):
    rank = {d: i for i, d in enumerate(order)}
    bad = []
    for a in sorted(g):
        for b in sorted(g[a]):
            da, db = a.split('/')[0], b.split('/')[0]
            if da not in rank or db not in rank:
                bad.append('%s -> %s: folder not in LAYERS' % (a, b))
            elif rank[db] < rank[da]:
                bad.append('upward call %s -> %s' % (a, b))
    for c in circles(nodes, g):
        bad.append('circle: ' + ' -> '.join(c))
    return bad


def self_test(order):
    g = collections.defaultdict(set)
    g['core/a'] = {'core/b', 'util/x'}
    g['core/b'] = {'util/x'}
    if problems(order, ['core/a', 'core/b', 'util/x'], g):
        return 'clean graph reported'
    g['util/x'] = {'core/a'}
    got = problems(order, ['core/a', 'core/b', 'util/x'], g)
    want = ['upward call util/x -> core/a',
            'circle: core/a -> core/b -> util/x']
    return None if got == want else 'got %r' % got


def main():
    top = os.environ.get('top_srcdir') or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), '..', '..')
    order = layers(top)
    if '--self-test' in sys.argv:
        why = self_test(order)
        print('check-calls self-test: ' + (why or 'ok'))
        return 1 if why else 0
    build = os.environ.get('top_builddir') or '.'
    odir = objdir(build)
    if not odir:
        print('check-calls: no libtool script in %s (not a build?)' % build)
        return 99
    nodes, g = graph(top, build, odir)
    if not nodes:
        print('check-calls: no objects under %s/src/*/%s (not built?)'
              % (build, odir))
        return 99
    bad = problems(order, nodes, g)
    for b in bad:
        print(b)
    if bad:
        return 1
    print('check-calls: %d files, %d call edges, none upward, no circle'
          % (len(nodes), sum(len(v) for v in g.values())))
    return 0


if __name__ == '__main__':
    sys.exit(main())
