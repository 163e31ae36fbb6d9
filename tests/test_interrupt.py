"""Interrupting `tfk new` for real, with a signal from outside, leaves nothing.

The child slows `_write_file` down (patched in the child only, product code has
no hook for it) so the signal lands while the staging directory is half full.
"""

import signal
import subprocess
import sys

import pytest

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


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_writing_leaves_no_target_and_no_staging(tmp_path, signum):
    with subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as child:
        for _ in range(3):  # three files are in the staging directory
            assert child.stdout.readline().startswith("writing"), child.stderr.read()
        (staging,) = tmp_path.iterdir()
        assert staging.name.startswith(".demo.tfk-")
        child.send_signal(signum)
        _, errors = child.communicate(timeout=30)
    assert child.returncode == 130, errors
    assert errors == "interrupted; nothing was written\n"
    assert list(tmp_path.iterdir()) == []
