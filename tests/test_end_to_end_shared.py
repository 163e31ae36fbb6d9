"""What every style shares, tested once: a tabular keras project with every
part runs its whole core suite, slow tests included (kill -9 resume, serving
under abuse, two devices), apart from `end_to_end.SHARED_SKIPS`. The cluster
part's tests are test_end_to_end_cluster.py, the tune and debug parts'
test_end_to_end_parts.py: modules of their own, so that pytest-xdist runs them
beside the task modules that train every style."""

import pytest
from end_to_end import PART_TESTS, SHARED_SKIPS, run_pytest

from tfk_scaffold.generate import new_project
from tfk_scaffold.spec import PARTS, make_spec

pytestmark = pytest.mark.slow


def test_the_shared_code_passes_its_whole_suite(tmp_path):
    new_project(
        make_spec("shared", "keras", "tabular", PARTS), tmp_path, force=False, git=False
    )
    ignored = [item for test in PART_TESTS for item in ("--ignore", test)]
    suite = run_pytest(tmp_path / "shared", *SHARED_SKIPS, *ignored, timeout=2400)
    assert " passed" in suite.stdout  # and exit 0: `run` checks it
