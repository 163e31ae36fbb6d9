"""Every variant, with and without its optional parts, is black-clean,
ruff-clean and vulture-clean (no dead code), for any valid name; and so is
the tool itself."""

import string
import subprocess
import sys
from pathlib import Path

import black
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tfk_scaffold.check import check
from tfk_scaffold.errors import UserError
from tfk_scaffold.generate import new_project
from tfk_scaffold.render import render
from tfk_scaffold.spec import ALL_PARTS, PARTS, STYLES, TASKS, is_for, make_spec

MODE = black.Mode(line_length=88, target_versions={black.TargetVersion.PY311})


def assert_black_clean(files):
    for file in files:
        if file.is_python:
            assert (
                black.format_str(file.contents, mode=MODE) == file.contents
            ), file.path


# Lean, with everything, and with each part alone (a part's code must not
# lean on another part's).
VARIANTS = [("demo-project", ()), ("a", (ALL_PARTS,)), ("b" * 32, ())] + [
    (f"with-{part}", (part,)) for part in PARTS
]


@pytest.mark.parametrize("task", list(TASKS))
@pytest.mark.parametrize(("name", "parts"), VARIANTS)
def test_every_variant_passes_black_ruff_and_vulture_with_no_finding(
    style, task, name, parts, tmp_path
):
    if parts and not is_for(parts[0], task) and parts[0] != ALL_PARTS:
        pytest.skip(f"the {parts[0]} part is not for the {task} task")
    spec = make_spec(name, style, task, parts)
    new_project(spec, tmp_path, force=False, git=False)
    project = tmp_path / name
    black_run = subprocess.run(
        [sys.executable, "-m", "black", "--check", "--quiet", "."],
        cwd=project,
        capture_output=True,
        text=True,
    )
    assert black_run.returncode == 0, black_run.stderr
    ruff_run = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "."],
        cwd=project,
        capture_output=True,
        text=True,
    )
    assert ruff_run.returncode == 0, ruff_run.stdout
    vulture_run = subprocess.run(
        # Every finding, at any confidence: the project's pyproject.toml names
        # the hooks that frameworks call.
        [sys.executable, "-m", "vulture"],
        cwd=project,
        capture_output=True,
        text=True,
    )
    assert vulture_run.returncode == 0, vulture_run.stdout


names = st.one_of(
    st.text(
        alphabet=string.ascii_letters + string.digits + "-_", min_size=1, max_size=34
    ),
    st.text(max_size=12),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=names, style=st.sampled_from(list(STYLES)), task=st.sampled_from(list(TASKS))
)
def test_any_name_gives_a_black_clean_project_or_a_clean_error(name, style, task):
    try:
        spec = make_spec(name, style, task)
    except UserError as error:
        assert str(error)
        return
    assert_black_clean(check(render(spec)))


def test_the_shortest_and_longest_names_stay_black_clean(style):
    for name in ("a", "b" * 32):
        assert_black_clean(check(render(make_spec(name, style, parts=PARTS))))


@pytest.mark.parametrize(
    "linter", [["black", "--check", "--quiet"], ["ruff", "check", "--no-cache"]]
)
def test_the_tool_is_black_and_ruff_clean(linter):
    root = Path(__file__).parent.parent
    folders = ["tfk_scaffold", "tests", "benchmarks", "scripts"]
    run = subprocess.run(
        [sys.executable, "-m", *linter, *folders],
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr
