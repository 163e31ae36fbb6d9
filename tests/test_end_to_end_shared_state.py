"""What every style shares, part two: the keras tabular project's kill -9
resume and two-device tests, a module of its own so that pytest-xdist runs it
beside the rest of the shared suite (test_end_to_end_shared.py)."""

import pytest
from end_to_end import STATE_TESTS, run_pytest

from tfk_scaffold.generate import new_project
from tfk_scaffold.spec import PARTS, make_spec

pytestmark = pytest.mark.slow


def test_the_shared_resume_and_distribute_tests_pass(tmp_path):
    new_project(
        make_spec("shared", "keras", "tabular", PARTS), tmp_path, force=False, git=False
    )
    suite = run_pytest(tmp_path / "shared", *STATE_TESTS, timeout=2400)
    assert " passed" in suite.stdout  # and exit 0: `run` checks it
