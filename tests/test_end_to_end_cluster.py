"""The cluster part, tested once, slow tests included: two workers on
127.0.0.1, Ray Train workers and Ray tune tasks, in a tabular keras project
with every part; and two workers on images. A module of its own, beside the
tune part's (test_end_to_end_parts.py), so that pytest-xdist runs the two at
once: together they were the longest unit of CI."""

import pytest
from end_to_end import CLUSTER_TESTS, run_pytest

from tfk_scaffold.generate import new_project
from tfk_scaffold.spec import PARTS, make_spec

pytestmark = pytest.mark.slow


def test_the_cluster_part_passes_its_whole_suite(tmp_path):
    new_project(
        make_spec("cluster", "keras", "tabular", PARTS),
        tmp_path,
        force=False,
        git=False,
    )
    suite = run_pytest(tmp_path / "cluster", *CLUSTER_TESTS, timeout=2400)
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
