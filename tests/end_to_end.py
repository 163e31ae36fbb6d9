"""Generate every style of a task, train its default config, run the project's tests.

Each task's module (test_end_to_end_<task>.py) imports these tests and names its
TASK, so pytest-xdist can give each task's minutes to a worker of its own.
Slow (several minutes a task): CI runs it. The generated code runs from `src/`
on PYTHONPATH with this environment's TensorFlow, as `pip install -e .` would.
Which of each project's own tests run: see `suites`.
"""

import json
import os
import subprocess
import sys
import time

import pytest

from tfk_scaffold.generate import new_project
from tfk_scaffold.spec import ALL_PARTS, STYLES, TASKS, make_spec

pytestmark = pytest.mark.slow

# Held-out accuracy each task's default config must reach, and how far apart
# the three styles of one task may end.
TARGETS = {"tabular": (0.90, 0.03), "sequence": (0.85, 0.05), "image": (0.85, 0.05)}
# The image default trains ~3 min a style on CI's 2 CPUs: here each style
# trains the same model for an eighth of the steps (held-out 0.955-0.98, 24-35 s
# a style on a quiet machine); the default config itself learns real digits in
# test_real_images.py.
TRAINING = {"image": ["data.num_samples=2000", "train.epochs=6", "train.min_steps=0"]}
# Every test of every generated project, beyond CI's time budget (an hour and
# more on 2 CPUs): TFK_FULL_SUITES=1.
FULL = os.environ.get("TFK_FULL_SUITES") == "1"


def run(project, *args, timeout=1200, check=True):
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
        result.returncode == 0 or not check
    ), f"{args}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def trained(request, tmp_path_factory):
    """The task's three styles, generated and trained with the default config
    (image: see TRAINING)."""
    task, results = request.module.TASK, {}
    assert task in TASKS, task
    for style in STYLES:
        parent = tmp_path_factory.mktemp(f"{task}-{style}")
        name = f"{task}-{style}"
        spec = make_spec(name, style, task, [ALL_PARTS])  # every part, tested here too
        new_project(spec, parent, force=False, git=False)
        project, package = parent / name, name.replace("-", "_")
        started = time.perf_counter()
        sets = [item for value in TRAINING.get(task, []) for item in ("--set", value)]
        run(project, "-m", package, "train", *([] if FULL else sets))
        seconds = time.perf_counter() - started
        evaluated = run(project, "-m", package, "evaluate", "--json")
        metrics = json.loads(evaluated.stdout.strip().splitlines()[-1])
        run(project, "-m", package, "export")  # the trained model, as served
        results[style] = {"project": project, "seconds": seconds, **metrics}
        accuracy = metrics["accuracy"]
        print(f"{task}/{style}: test accuracy {accuracy:.4f}, train {seconds:.1f}s")
    return task, results


def test_default_config_converges_on_held_out_data(trained):
    task, results = trained
    for style, result in results.items():
        assert result["accuracy"] >= TARGETS[task][0], (style, result)


def test_the_three_styles_reach_the_same_accuracy(trained):
    task, results = trained
    accuracies = [result["accuracy"] for result in results.values()]
    assert max(accuracies) - min(accuracies) <= TARGETS[task][1], accuracies


def test_the_generated_projects_pass_their_own_tests(trained):
    task, results = trained
    for style, result in results.items():
        for selection in suites(task, style):
            suite = run_pytest(result["project"], *selection)
            assert " passed" in suite.stdout, (style, selection)
        if task == "sequence" and (FULL or style == "keras"):
            # Sequences train with XLA by default, hence without op determinism:
            # the same seed must still give the same metrics.
            same_seed = "tests/test_commands.py::test_same_seed_gives_the_same_metrics"
            suite = run_pytest(result["project"], same_seed)
            assert "1 passed" in suite.stdout, style


def suites(task: str, style: str) -> list[list[str]]:
    """The pytest runs of one generated project, within CI's time.

    What every style shares (commands, sources, data, config and every part)
    is tested in full once, on tabular data, in the keras project of
    test_end_to_end_shared.py and test_end_to_end_parts.py; hybrid shares
    keras's train.py too, so it runs only its model and step (test_style) on
    tabular data, as keras does. On image and sequence data keras and hybrid
    are trained, evaluated and exported by `trained` above (CI's time allows no
    more); the tf style, whose layers are written by hand, runs test_style and
    the task's readers there. The tf style writes its own training loop: on
    tabular data its commands, checkpoints (kill -9 resume) and multi-device
    loop run too. Every style exports and predicts on real data in
    test_real_data.py. TFK_FULL_SUITES=1: every test of every project."""
    fast = ["-m", "not slow"]
    if FULL:
        return [[]]
    if task == "tabular" and style == "tf":
        return [
            [*fast, "tests/test_style.py", "tests/test_commands.py", *TFLITE, *OWN],
            [
                "tests/test_resume.py",
                "tests/test_distribute.py",
                "tests/test_kept_epoch.py",
            ],
        ]
    if style == "tf":  # and the image or sequence readers, once
        return [
            [
                *fast,
                "tests/test_style.py",
                "tests/test_sources.py",
                "tests/test_data.py",
            ]
        ]
    return [[*fast, "tests/test_style.py"]] if task == "tabular" else []


# The shared suite's tests no other style needs twice: the keras style's
# commands run with the same seed twice (the sequence task checks that); the
# parts' tests run in test_end_to_end_parts.py.
SHARED_SKIPS = [
    "--deselect",
    "tests/test_convergence.py",
    "--deselect",
    "tests/test_commands.py::test_same_seed_gives_the_same_metrics",
]
CLUSTER_TESTS = ["tests/test_cluster.py"]
TUNE_AND_DEBUG_TESTS = ["tests/test_tune.py", "tests/test_debug.py"]
PART_TESTS = CLUSTER_TESTS + TUNE_AND_DEBUG_TESTS
TFLITE = ["tests/test_tflite.py"]  # beside test_commands: one trained fixture for both
# test_commands' tests of code every style shares (config, run folders, the
# CLI's output), which the shared suite runs.
OWN = ["-k", "not (bad_override or cannot_write or cannot_be_written or only_json)"]


def run_pytest(project, *args, timeout=1200):
    return run(
        project, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args, timeout=timeout
    )
