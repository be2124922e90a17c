#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# A negative check (grep finds PATTERN && fail) passes whenever the command
# whose output it reads failed for another reason: a client that cannot
# load the module prints no CMK either. So in the shell tests every
# negative grep must read the output of a command whose exit status was
# checked: the assignment `out=$(cmd)` or the redirect `cmd >FILE` carries
# `||` or `&&`, sits in an if/while condition, or is followed by `rc=$?`.
#
# Usage: check-neg-greps.py [FILE...]   (default: every *.sh under tests/
# and scripts/ of top_srcdir). It checks itself first on a known snippet.
# Exit 0 clean, 1 with one line per unchecked source ("FILE:LINE: ..."),
# 99 when the self-test fails.
import os
import re
import sys

NEG = re.compile(r'\bgrep\b.*&&\s*(cmk_fail|fail|die)\b')
HERE_VAR = re.compile(r'<<<\s*"?\$\{?(\w+)\}?"?')
FILE_ARG = re.compile(r'\bgrep\b[^|&]*?("\$[^"]+"|\$\w+\S*)\s*&&')
STATUS = re.compile(r'^\s*(\w+=\$\?|\[\s+"?\$\?)')
COND = re.compile(r'^\s*(if|elif|while|until|!)\b')


def logical_lines(text):
    """(first line number, text) with backslash continuations joined."""
    out, buf, start = [], '', None
    for n, line in enumerate(text.splitlines(), 1):
        if start is None:
            start = n
        if line.endswith('\\'):
            buf += line[:-1] + ' '
            continue
        out.append((start, buf + line))
        buf, start = '', None
    if start is not None:
        out.append((start, buf))
    return out


def checked(lines, i):
    n, text = lines[i]
    if '||' in text or '&&' in text or COND.match(text):
        return True
    return i + 1 < len(lines) and STATUS.match(lines[i + 1][1]) is not None


def source_of(lines, i, neg):
    """Index of the line that produced the grep's input, or None."""
    m = HERE_VAR.search(neg)
    if m:
        pat = re.compile(r'(^|[\s;(])(local\s+)?%s=\$\(' % re.escape(m.group(1)))
    else:
        m = FILE_ARG.search(neg)
        if not m:
            return None
        pat = re.compile(r'>\s*%s(\s|$)' % re.escape(m.group(1)))
    for j in range(i - 1, -1, -1):
        if pat.search(lines[j][1]):
            return j
    return None


def scan(name, text):
    bad = []
    lines = logical_lines(text)
    for i, (n, t) in enumerate(lines):
        if t.lstrip().startswith('#') or not NEG.search(t):
            continue
        j = source_of(lines, i, t)
        if j is not None and not checked(lines, j):
            bad.append('%s:%d: negative grep on the output of line %d, '
                       'whose exit status is not checked'
                       % (name, n, lines[j][0]))
    return bad


SELF = '''out=$(tool --list 2>&1)
grep -q secret <<<"$out" && cmk_fail "listed"
out=$(tool --list 2>&1) || cmk_fail "tool"
grep -q secret <<<"$out" && cmk_fail "listed"
tool --login \\
    >"$T/out" 2>&1
grep -q secret "$T/out" && cmk_fail "shown"
tool --login >"$T/out" 2>&1 && cmk_fail "accepted"
grep -q secret "$T/out" && cmk_fail "shown"
out=$(tool -O)
rc=$?
grep -q secret <<<"$out" && fail "listed"
if out=$(tool -O); then :; fi
grep -q secret <<<"$out" && fail "listed"
'''


def self_test():
    want = ['self:2: negative grep on the output of line 1, whose exit '
            'status is not checked',
            'self:7: negative grep on the output of line 5, whose exit '
            'status is not checked']
    got = scan('self', SELF)
    return None if got == want else 'got %r' % got


def files(top):
    for sub in ('tests', 'scripts'):
        for d, _, names in os.walk(os.path.join(top, sub)):
            for f in sorted(names):
                if f.endswith('.sh'):
                    yield os.path.join(d, f)


def main():
    why = self_test()
    if why:
        print('check-neg-greps self-test failed: ' + why)
        return 99
    top = os.environ.get('top_srcdir') or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), '..', '..')
    paths = sys.argv[1:] or sorted(files(top))
    bad = []
    for p in paths:
        with open(p) as f:
            bad += scan(os.path.relpath(p, top), f.read())
    for b in bad:
        print(b)
    if bad:
        return 1
    print('check-neg-greps: %d scripts, every negative grep reads checked '
          'output' % len(paths))
    return 0


if __name__ == '__main__':
    sys.exit(main())
