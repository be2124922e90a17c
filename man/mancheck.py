# SPDX-License-Identifier: Apache-2.0
"""man/mancheck.py: checks that the manual pages (man/*.scd) and the code
have not drifted apart, in both directions. Run by man/test_man_*.sh.

  mancheck.py tool SCD CMK_TOOL        cmk-tool.1.scd against --help
  mancheck.py readme README CMK_TOOL   README's cmk-tool options
  mancheck.py config SCD SRCDIR        cmk-pkcs11.json.5.scd against the
                                       parsers' known-key tables
  mancheck.py defines SCD HEADER       every #define of the header named
  mancheck.py mechs SCD MODULE         C_GetMechanismList against MECHANISMS

Prints one line per difference and exits 1 if there is any, 0 if none.
"""
import os
import re
import subprocess
import sys

OPT = re.compile(r'(?<![\w-])--[a-z][a-z0-9-]*')


def fail(problems):
    for p in problems:
        print(p)
    return 1 if problems else 0


def sections(text, level):
    """{name: body} of the scdoc headings of this level ('#' or '##')."""
    out = {}
    name = None
    for line in text.splitlines():
        m = re.match(r'^(#+) (.*)$', line)
        if m:
            name = m.group(2).strip() if m.group(1) == level else None
            if name is not None:
                out[name] = ''
            continue
        if name is not None:
            out[name] += line + '\n'
    return out


def tool_help(tool, cmd=None):
    args = [tool] + ([cmd] if cmd else []) + ['--help']
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit('%s: exit %d' % (' '.join(args), r.returncode))
    return r.stdout


def tool_commands(tool):
    text = tool_help(tool)
    block = text.split('commands:\n', 1)[1].split('\n\n', 1)[0]
    return [line.split()[0] for line in block.splitlines() if line.strip()]


def check_tool(scd, tool):
    problems = []
    secs = sections(open(scd).read(), '##')
    cmds = tool_commands(tool)
    for c in cmds:
        if c not in secs:
            problems.append('%s: no section "## %s" (in cmk-tool --help)'
                            % (scd, c))
            continue
        want = set(OPT.findall(tool_help(tool, c)))
        have = set(OPT.findall(secs[c]))
        for o in sorted(want - have):
            problems.append('%s: section %s lacks %s (in cmk-tool %s --help)'
                            % (scd, c, o, c))
        for o in sorted(have - want):
            problems.append('%s: section %s documents %s, which cmk-tool '
                            '%s --help does not know' % (scd, c, o, c))
    for s in secs:
        if s not in cmds:
            problems.append('%s: section "## %s" is not a command of '
                            'cmk-tool --help' % (scd, s))
    return fail(problems)


def check_readme(readme, tool):
    """README's paragraph starting "`cmk-tool` commands:" names commands
    in backquotes, each followed by its options: every option it names
    for a command must be one of that command's --help."""
    text = open(readme).read()
    start = text.index('`cmk-tool` commands:')
    para = text[start:text.index('\n\n', start)]
    cmds = tool_commands(tool)
    problems = []
    seen = 0
    # Each command's stretch: from "`CMD " (or "`audit verify") to the
    # next command's start.
    starts = []
    for c in cmds:
        for m in re.finditer(r'`%s[\s`]' % re.escape(c), para):
            starts.append((m.start(), c))
    starts.sort()
    for i, (pos, c) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else len(para)
        stretch = para[pos:end]
        want = set(OPT.findall(tool_help(tool, c)))
        for o in sorted(set(OPT.findall(stretch)) - want):
            problems.append('README.md: cmk-tool %s %s: not in cmk-tool %s '
                            '--help' % (c, o, c))
        seen += 1
    for c in cmds:
        if c not in [s[1] for s in starts] and c != 'version':
            problems.append('README.md: command %s not in the "`cmk-tool` '
                            'commands:" paragraph' % c)
    for c in sorted(set(s[1] for s in starts)):
        stretch = ' '.join(para[p:(starts[i + 1][0] if i + 1 < len(starts)
                                   else len(para))]
                           for i, (p, s) in enumerate(starts) if s == c)
        missing = set(OPT.findall(tool_help(tool, c))) - \
            set(OPT.findall(stretch))
        if missing:
            print('note: README.md leaves out cmk-tool %s %s' %
                  (c, ' '.join(sorted(missing))))
    if seen == 0:
        problems.append('README.md: no command found in the paragraph')
    return fail(problems)


# The parsers' known-key tables: a "static const char *const NAME[]" table
# handed, in the same function, to cmk_conf_check_object, cmk_conf_check_keys
# or cmk_config_check_members, is the list of members of one object. Its
# path is named here, by file and function; a table not named here (a new
# object) or named here and gone fails the check.
TABLE_PATHS = {
    ('src/core/settings.c', 'parse_root'): '',
    ('src/audit/audit_cfg.c', 'cmk_audit_cfg_parse'): 'audit',
    ('src/keys/cache_cfg.c', 'cmk_cache_opts_parse'): 'cache',
    ('src/net/http_cfg.c', 'cmk_http_cfg_parse'): 'http',
    ('src/keys/health_cfg.c', 'cmk_health_opts_parse'): 'health',
    ('src/core/settings_tenant.c', 'cmk_config_tenant_parse'): 'tenants[]',
    ('src/core/settings_tenant.c', 'pin_from_file'):
        'tenants[].pin_verifier',
    ('src/core/settings_tenant.c', 'parse_key_policy'):
        'tenants[].key_policy',
    ('src/core/settings_keks.c', 'parse_entry'): 'tenants[].previous_keks[]',
    ('src/core/settings_dual.c', 'parse_members'): 'tenants[].dual_control',
    ('src/core/settings_kp.c', 'parse_one'): 'tenants[].key_pairs[]',
    ('src/providers/aws_cfg.c', 'parse_block'): 'tenants[].aws',
    ('src/providers/gcp_cfg.c', 'parse_block'): 'tenants[].gcp',
    ('src/providers/azure_cfg.c', 'parse_mi'):
        'tenants[].azure.managed_identity',
    ('src/providers/azure_cfg.c', 'parse_block'): 'tenants[].azure',
    ('src/providers/vault_cfg.c', 'parse_approle'):
        'tenants[].vault.approle',
    ('src/providers/vault_cfg.c', 'parse_k8s'): 'tenants[].vault.kubernetes',
    ('src/providers/vault_cfg.c', 'parse_cert'): 'tenants[].vault.cert',
    ('src/providers/vault_cfg.c', 'parse_block'): 'tenants[].vault',
}
CHECKERS = r'(?:cmk_conf_check_object|cmk_conf_check_keys|' \
    r'cmk_config_check_members)'
FUNC = re.compile(r'^[A-Za-z_][\w \*]*?\b(\w+)\(', re.M)
TABLE = re.compile(r'static const char \*const (\w+)\[\] = \{(.*?)\};', re.S)


def key_tables(srcdir):
    """{(file, function): ([keys], uses_check_members)}"""
    out = {}
    for root, _, files in os.walk(os.path.join(srcdir, 'src')):
        for f in sorted(files):
            if not f.endswith('.c'):
                continue
            path = os.path.join(root, f)
            rel = os.path.relpath(path, srcdir)
            text = open(path).read()
            funcs = [(m.start(), m.group(1)) for m in FUNC.finditer(text)]
            for i, (pos, name) in enumerate(funcs):
                end = funcs[i + 1][0] if i + 1 < len(funcs) else len(text)
                body = text[pos:end]
                for call in re.finditer(CHECKERS + r'\([^;]*?(\w+)\);', body):
                    table = call.group(1)
                    t = [m for m in TABLE.finditer(body)
                         if m.group(1) == table]
                    sig = body.split(')', 1)[0]
                    if not t and re.search(r'\b%s\b' % table, sig):
                        continue  # the checker itself, passing it on
                    if not t:
                        raise SystemExit('%s: %s: table %s not in the '
                                         'function' % (rel, name, table))
                    keys = re.findall(r'"([^"]*)"', t[0].group(2))
                    members = 'check_members' in call.group(0)
                    out[(rel, name)] = (keys, members)
    return out


def provider_members(srcdir):
    """Providers whose ops read an object of their own ("aws": {...}):
    cmk_config_check_members accepts their names as members."""
    names = []
    pdir = os.path.join(srcdir, 'src', 'providers')
    for f in sorted(os.listdir(pdir)):
        if f.endswith('.c'):
            names += re.findall(r'\.cfg_parse = cmk_(\w+)_cfg_parse',
                                open(os.path.join(pdir, f)).read())
    return names


def check_config(scd, srcdir):
    problems = []
    accepted = set()
    tables = key_tables(srcdir)
    provs = provider_members(srcdir)
    for where, (keys, members) in sorted(tables.items()):
        if where not in TABLE_PATHS:
            problems.append('%s: %s: a key table man/mancheck.py does not '
                            'know: add its path to TABLE_PATHS' % where)
            continue
        base = TABLE_PATHS[where]
        for k in keys + (provs if members else []):
            accepted.add(base + '.' + k if base else k)
    for where in sorted(set(TABLE_PATHS) - set(tables)):
        problems.append('%s: %s: no key table there any more: update '
                        'TABLE_PATHS' % where)
    documented = set()
    prose = ('NAME', 'SYNOPSIS', 'DESCRIPTION', 'ERRORS', 'EXAMPLE',
             'SEE ALSO')
    for title, body in sections(open(scd).read(), '#').items():
        if title in prose:
            continue
        for line in body.splitlines():
            if line.startswith('*'):
                documented.update(re.findall(r'\*([a-z0-9_\[\]\.]+)\*',
                                             line))
    documented = {d for d in documented if not d.startswith('.')}
    for f in sorted(accepted - documented):
        problems.append('%s: field %s is accepted by the parser but not '
                        'documented' % (scd, f))
    for f in sorted(documented - accepted):
        problems.append('%s: field %s is documented but the parser does not '
                        'accept it' % (scd, f))
    print('%d fields accepted, %d documented' % (len(accepted),
                                                 len(documented)))
    return fail(problems)


def check_defines(scd, header):
    text = open(scd).read()
    problems = []
    names = re.findall(r'^#define (\w+)', open(header).read(), re.M)
    for n in names:
        # *NAME*, or *NAME(args)* for a function-like macro
        if not re.search(r'\*%s(\([^)*]*\))?\*' % n, text):
            problems.append('%s: #define %s of %s is not documented'
                            % (scd, n, header))
    print('%d defines' % len(names))
    return fail(problems)


def check_mechs(scd, module):
    import PyKCS11
    lib = PyKCS11.PyKCS11Lib()
    lib.load(module)
    slot = lib.getSlotList(tokenPresent=True)[0]
    ml = PyKCS11.LowLevel.ckintlist()
    rv = lib.lib.C_GetMechanismList(slot, ml)
    if rv != PyKCS11.CKR_OK:
        raise SystemExit('C_GetMechanismList: %s' % PyKCS11.CKR[rv])
    have = {int(ml[i]) for i in range(len(ml))}
    sec = sections(open(scd).read(), '#')['MECHANISMS']
    documented = {}
    for m in re.finditer(r'^\*(CKM_\w+)\* \((0x[0-9A-Fa-f]+)\)', sec, re.M):
        documented[int(m.group(2), 16)] = m.group(1)
    problems = []
    for v in sorted(have - set(documented)):
        problems.append('%s: mechanism 0x%X (%s) of C_GetMechanismList is '
                        'not under MECHANISMS'
                        % (scd, v, PyKCS11.CKM.get(v, 'vendor')))
    for v in sorted(set(documented) - have):
        problems.append('%s: MECHANISMS names %s (0x%X), which '
                        'C_GetMechanismList does not return'
                        % (scd, documented[v], v))
    for v, name in sorted(documented.items()):
        known = PyKCS11.CKM.get(v)
        if isinstance(known, str) and known != name and v in have and \
                not known.startswith('CKM_VENDOR'):
            problems.append('%s: 0x%X is %s, not %s' % (scd, v, known, name))
    print('%d mechanisms' % len(have))
    return fail(problems)


def main(argv):
    cmds = {'tool': check_tool, 'readme': check_readme,
            'config': check_config, 'defines': check_defines,
            'mechs': check_mechs}
    if len(argv) != 4 or argv[1] not in cmds:
        print(__doc__, file=sys.stderr)
        return 2
    return cmds[argv[1]](argv[2], argv[3])


if __name__ == '__main__':
    sys.exit(main(sys.argv))
