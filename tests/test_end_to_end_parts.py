"""The tune and debug parts, tested once, slow tests included: a study killed
mid-trial and resumed, two workers sharing a study, NaNs found by --debug, in a
tabular keras project with every part (the rest of that project's suite:
test_end_to_end_shared.py; the cluster part's: test_end_to_end_cluster.py)."""

import pytest
from end_to_end import TUNE_AND_DEBUG_TESTS, run_pytest

from tfk_scaffold.generate import new_project
from tfk_scaffold.spec import PARTS, make_spec

pytestmark = pytest.mark.slow


def test_the_tune_and_debug_parts_pass_their_whole_suites(tmp_path):
    new_project(
        make_spec("parts", "keras", "tabular", PARTS), tmp_path, force=False, git=False
    )
    suite = run_pytest(tmp_path / "parts", *TUNE_AND_DEBUG_TESTS, timeout=2400)
    assert " passed" in suite.stdout  # and exit 0: `run` checks it
