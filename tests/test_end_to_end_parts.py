"""The cluster, tune and debug parts, tested once, slow tests included: two
workers on 127.0.0.1, Ray Train workers and Ray tune tasks, a study killed
mid-trial and resumed, NaNs found by --debug, in a tabular keras project with
every part (the rest of that project's suite: test_end_to_end_shared.py);
and two workers on images."""

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


def test_two_keras_workers_settle_batch_norm_before_validating_images(tmp_path):
    """The Keras multi-worker loop (keras-team/keras#20585) on the image task:
    its first validation scores about what training did, as `fit`'s does."""
    new_project(
        make_spec("clusterimages", "hybrid", "image", ["cluster"]),
        tmp_path,
        force=False,
        git=False,
    )
    suite = run_pytest(
        tmp_path / "clusterimages",
        "tests/test_cluster.py",
        "-k",
        "two_workers_on_localhost_converge",
    )
    assert "1 passed" in suite.stdout
