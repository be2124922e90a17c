#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Calls the module must not make (STYLE.md, "Habits"): unbounded string
# functions, non-reentrant or unseeded libc helpers, getenv (secure_getenv
# instead), printf and exit in code that runs inside a host process.
# cmk-tool (src/tool) may print and exit. Exit 0 clean, 1 with the hits.
top=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
banned='strcpy|strcat|sprintf|gets|strtok|atoi|rand|getenv|printf|exit'
hits=$(find "$top/src" -name '*.c' ! -path "$top/src/tool/*" -print0 |
    xargs -0 grep -nE "(^|[^_a-zA-Z0-9>.])($banned)[[:space:]]*\(" |
    grep -vE 'format\((printf|__printf__)' |
    grep -vE ':[0-9]+:[[:space:]]*(/\*|\*)')
if [ -n "$hits" ]; then
    echo "banned calls in module code:"
    echo "$hits"
    exit 1
fi
echo "no banned calls in src/ (outside src/tool)"
exit 0
