"""Interrupting `tfk new` for real, with a signal from outside, leaves nothing;
`kill -9` leaves a staging directory that the next run removes; two runs at
once never mix their files.

The child slows `_write_file` down (patched in the child only, product code has
no hook for it) so the signal lands while the staging directory is half full.
"""

import signal
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tfk_scaffold.cli import app
from tfk_scaffold.generate import build
from tfk_scaffold.spec import make_spec

CHILD = """
import signal, sys, time
# Ctrl-C as a terminal delivers it, even if this test runs as a background job
# (whose children start with SIGINT ignored).
signal.signal(signal.SIGINT, signal.default_int_handler)
from tfk_scaffold import write
from tfk_scaffold.cli import app

real_write = write._write_file

def slow_write(path, contents):
    print("writing", path, flush=True)
    time.sleep(0.2)
    real_write(path, contents)

write._write_file = slow_write
sys.argv = ["tfk", "new", "demo", "-o", sys.argv[1], "--no-git"]
app()
"""


def slow_child(parent: Path) -> subprocess.Popen:
    """`tfk new demo` into `parent`, returned once three files are staged."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(parent)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    for _ in range(3):
        assert child.stdout.readline().startswith("writing"), child.stderr.read()
    return child


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_writing_leaves_no_target_and_no_staging(tmp_path, signum):
    with slow_child(tmp_path) as child:
        lock, staging = sorted(tmp_path.iterdir())
        assert (lock.name, staging.name[:14]) == (".demo.tfk-lock", ".demo.tfk-new-")
        child.send_signal(signum)
        _, errors = child.communicate(timeout=30)
    assert child.returncode == 130, errors
    assert errors == "interrupted; nothing was written\n"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("next_name", ["demo", "other"])
def test_the_next_run_removes_what_kill_9_left(tmp_path, next_name):
    with slow_child(tmp_path) as child:
        child.kill()
        child.wait(timeout=30)
    left = sorted(path.name for path in tmp_path.iterdir())
    assert [name[:14] for name in left] == [".demo.tfk-lock", ".demo.tfk-new-"]
    command = ["new", next_name, "-o", str(tmp_path), "--no-git"]
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 0, result.output
    assert [path.name for path in tmp_path.iterdir()] == [next_name]


def test_a_live_run_keeps_its_staging_while_another_name_is_written(tmp_path):
    with slow_child(tmp_path) as child:
        command = ["new", "other", "-o", str(tmp_path), "--no-git"]
        assert CliRunner().invoke(app, command).exit_code == 0
        assert any(p.name.startswith(".demo.tfk-new-") for p in tmp_path.iterdir())
        child.kill()


def test_two_forced_runs_at_once_never_mix_styles(tmp_path):
    command = [sys.executable, "-m", "tfk_scaffold", "new", "demo", "--force"]
    command += ["-o", str(tmp_path), "--no-git", "--style"]
    for _ in range(4):
        runs = [
            subprocess.Popen(
                [*command, style],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for style in ("keras", "tf")
        ]
        for run in runs:
            _, errors = run.communicate(timeout=60)
            if run.returncode:
                assert errors.startswith("error: another tfk is writing"), errors
        style = tomllib.loads((tmp_path / "demo/.tfk.toml").read_text())["spec"][
            "style"
        ]
        for file in build(make_spec("demo", style=style)):
            assert (tmp_path / "demo" / file.path).read_text() == file.contents
    assert [path.name for path in tmp_path.iterdir()] == ["demo"]
