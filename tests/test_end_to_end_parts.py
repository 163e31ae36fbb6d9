"""The cluster, tune and debug parts, tested once, slow tests included: two
workers on 127.0.0.1, Ray Train workers and Ray tune tasks, a study killed
mid-trial and resumed, NaNs found by --debug, in a tabular keras project with
every part. The rest of that
project's suite: test_end_to_end_shared.py."""

import pytest
from end_to_end import PART_TESTS, run_pytest

from tfk_scaffold.generate import new_project
from tfk_scaffold.spec import PARTS, make_spec

pytestmark = pytest.mark.slow


def test_the_cluster_and_tune_parts_pass_their_whole_suites(tmp_path):
    new_project(
        make_spec("parts", "keras", "tabular", PARTS), tmp_path, force=False, git=False
    )
    suite = run_pytest(tmp_path / "parts", *PART_TESTS, timeout=2400)
    assert " passed" in suite.stdout  # and exit 0: `run` checks it
