#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# integration: the exit status of cmkpy's test runner, which the Python
# test files return to automake. A file with a skipped check exits 77 and
# prints why (not 0: a silent pass); under CI=true a skipped check fails
# the file (1); a failure wins over a skip; a missing prerequisite of the
# whole file is 77, or 99 under CI=true. cmkpy.tmpdir's directory lies
# under $TMPDIR and is gone when its process exits, whatever the status.

import contextlib
import io
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cmkpy  # noqa: E402

FAILED = []


def ok():
    pass


def no_tool():
    raise cmkpy.Skip("frobnicator not installed")


def broken():
    raise AssertionError("wrong bytes")


def finish_with(ci, checks, skip_env=""):
    """Runs checks [(name, fn)] through a Runner; returns (status, out)."""
    saved = {k: os.environ.get(k) for k in ("CI", "CMK_TEST_SKIP")}
    os.environ.pop("CI", None)
    if ci:
        os.environ["CI"] = "true"
    os.environ["CMK_TEST_SKIP"] = skip_env
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            run = cmkpy.Runner()
            for name, fn in checks:
                run.run(name, fn)
            status = run.finish()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return status, out.getvalue()


def expect(what, got, want, out, lines=()):
    bad = got != want
    for line in lines:
        if line not in out.splitlines():
            bad = True
    if bad:
        FAILED.append(what)
        print("FAIL %s: exit %r, want %r and lines %r in:\n%s" %
              (what, got, want, list(lines), out))
    else:
        print("ok   %s: exit %r" % (what, got))


def missing_status(ci):
    """cmkpy.missing's exit status and output."""
    saved = os.environ.get("CI")
    os.environ.pop("CI", None)
    if ci:
        os.environ["CI"] = "true"
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            cmkpy.missing("p11tool is not installed")
    except SystemExit as e:
        return e.code, out.getvalue()
    finally:
        if saved is None:
            os.environ.pop("CI", None)
        else:
            os.environ["CI"] = saved
    return None, out.getvalue()


def tmpdir_after_exit(code):
    """cmkpy.tmpdir in a child interpreter that exits with code: its path,
    and whether it is still there afterwards."""
    here = os.path.dirname(os.path.abspath(__file__))
    prog = ("import sys; sys.path.insert(0, %r); import cmkpy; "
            "print(cmkpy.tmpdir(), flush=True); sys.exit(%d)" % (here, code))
    env = dict(os.environ)
    env.pop("CMK_KEEP_TMP", None)
    out = subprocess.run([sys.executable, "-c", prog], env=env,
                         stdout=subprocess.PIPE, text=True)
    path = out.stdout.strip()
    return path, os.path.exists(path), out.returncode


def main():
    st, out = finish_with(False, [("a", ok), ("b", no_tool)])
    expect("a skipped check", st, 77, out,
           ["skip b: frobnicator not installed",
            "1 passed, 0 failed, 1 skipped",
            "SKIP: b: frobnicator not installed"])
    st, out = finish_with(True, [("a", ok), ("b", no_tool)])
    expect("a skipped check under CI=true", st, 1, out,
           ["FAIL b: frobnicator not installed (required when CI=true)",
            "1 passed, 1 failed, 0 skipped", "failed: b"])
    st, out = finish_with(False, [("a", ok), ("c", broken), ("b", no_tool)])
    expect("a failure and a skip", st, 1, out,
           ["FAIL c", "1 passed, 1 failed, 1 skipped", "failed: c"])
    st, out = finish_with(False, [("a", ok), ("d", ok)])
    expect("every check passed", st, 0, out, ["2 passed, 0 failed, 0 skipped"])
    st, out = finish_with(False, [])
    expect("no check ran", st, 77, out, ["SKIP: no check ran"])
    st, out = finish_with(True, [("a", ok), ("d", ok)], skip_env="d")
    expect("a check left out by CMK_TEST_SKIP", st, 77, out,
           ["skip d: in CMK_TEST_SKIP", "SKIP: d: in CMK_TEST_SKIP"])
    st, out = missing_status(False)
    expect("a missing prerequisite", st, 77, out,
           ["SKIP: p11tool is not installed"])
    st, out = missing_status(True)
    expect("a missing prerequisite under CI=true", st, 99, out,
           ["ERROR: p11tool is not installed (required when CI=true)"])
    for code in (0, 1):
        path, there, rc = tmpdir_after_exit(code)
        tmp = os.path.realpath(os.environ.get("TMPDIR") or "/tmp")
        good = (rc == code and not there and
                os.path.realpath(os.path.dirname(path)) == tmp and
                os.path.basename(path).startswith("cmk-test."))
        expect("tmpdir removed at exit %d" % code, 0 if good else 1, 0,
               "%s exists=%s rc=%d" % (path, there, rc))
    if FAILED:
        print("failed: " + ", ".join(FAILED))
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
