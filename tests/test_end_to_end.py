"""Generate each style, train its default config, and run the project's own tests.

Slow (a few minutes in all): CI runs it. The generated code runs from `src/`
on PYTHONPATH with this environment's TensorFlow, as `pip install -e .` would.
"""

import json
import os
import subprocess
import sys
import time

import pytest

from tfk_scaffold.generate import new_project
from tfk_scaffold.spec import STYLES, make_spec

pytestmark = pytest.mark.slow


def run(project, *args, timeout=900):
    env = {
        **os.environ,
        "PYTHONPATH": str(project / "src"),
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    result = subprocess.run(
        [sys.executable, *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert (
        result.returncode == 0
    ), f"{args}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Each style generated and trained with its default config: accuracy, seconds."""
    results = {}
    for style in STYLES:
        parent = tmp_path_factory.mktemp(style)
        new_project(make_spec(f"demo-{style}", style), parent, force=False, git=False)
        project = parent / f"demo-{style}"
        started = time.perf_counter()
        run(project, "-m", f"demo_{style}", "train")
        seconds = time.perf_counter() - started
        evaluated = run(project, "-m", f"demo_{style}", "evaluate", "--json")
        metrics = json.loads(evaluated.stdout.strip().splitlines()[-1])
        results[style] = {"project": project, "seconds": seconds, **metrics}
        print(f"{style}: test accuracy {metrics['accuracy']:.4f}, train {seconds:.1f}s")
    return results


@pytest.mark.parametrize("style", list(STYLES))
def test_default_config_converges_on_held_out_data(trained, style):
    assert trained[style]["accuracy"] >= 0.90, trained[style]


def test_the_three_styles_reach_the_same_accuracy(trained):
    accuracies = [result["accuracy"] for result in trained.values()]
    assert max(accuracies) - min(accuracies) <= 0.03, accuracies


@pytest.mark.parametrize("style", list(STYLES))
def test_the_generated_project_passes_its_own_tests(trained, style):
    project = trained[style]["project"]
    result = run(project, "-m", "pytest", "-q", "-p", "no:cacheprovider", timeout=1200)
    assert " passed" in result.stdout
