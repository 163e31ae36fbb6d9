"""Every bad input to `tfk new`: one clear line, exit 1 (2 for usage), nothing written.

Plus the property behind the table: for any name and options, `tfk new` either
succeeds with a project that compiles or fails cleanly having written nothing.
"""

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tfk_scaffold import write
from tfk_scaffold.cli import app
from tfk_scaffold.spec import DEPENDENCY_MODULES, STYLES, TASKS

runner = CliRunner()


def tfk_new(parent: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["new", *args, "-o", str(parent), "--no-git"])
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), f"traceback: {result.exception!r}"
    return result.exit_code, result.output


BAD_NAMES = [
    ("", "the project name is empty"),
    ("   ", "the project name is empty"),
    ("1model", "is not usable: start with a letter"),
    ("my.model", "is not usable"),
    ("naïve", "is not usable"),
    ("a b", "is not usable"),
    ("x" * 33, "longer than 32 characters"),
    ("class", "is a Python keyword"),
    ("Match", "is a Python keyword"),
    ("json", "shadows a module"),
    ("Site", "shadows a module"),
    ("tensorflow", "shadows a module"),
    ("wrapt", "shadows a module"),
    ("conftest", "named like the project's test modules"),
    ("test_data", "named like the project's test modules; try my-test_data"),
    ("certifi", "shadows a module the project needs; try certifi-project"),
    ("a/b", "looks like a path"),
    ("../x", "looks like a path"),
    ("..", "looks like a path"),
    ("a\\b", "looks like a path"),
    ("{{x}}", "contains template syntax"),
    ("a{%b", "contains template syntax"),
    ("a{#b", "contains template syntax"),
]


@pytest.mark.parametrize(("name", "message"), BAD_NAMES)
def test_a_bad_name_is_one_line_exit_1_and_writes_nothing(tmp_path, name, message):
    code, output = tfk_new(tmp_path, name)
    assert code == 1
    assert output.startswith("error: ") and output.count("\n") == 1, output
    assert message in output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--style", "pytorch"], "unknown style 'pytorch'; choose one of: keras"),
        (["--style", ""], "unknown style ''"),
        (["--style", "{{ name }}"], "unknown style '{{ name }}'"),
        (["--task", "{% if 1 %}"], "unknown task '{% if 1 %}'"),
        (["--task", "audio"], "unknown task 'audio'; choose one of: tabular"),
    ],
)
def test_an_unknown_choice_lists_the_choices(tmp_path, options, message):
    code, output = tfk_new(tmp_path, "demo", *options)
    assert (code, output.count("\n")) == (1, 1)
    assert output.startswith(f"error: {message}")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "arguments", [["--bogus"], ["-x"], ["demo", "--style"], [], ["demo", "extra"]]
)
def test_a_usage_error_is_exit_code_2_and_writes_nothing(tmp_path, arguments):
    result = runner.invoke(app, ["new", "-o", str(tmp_path), *arguments])
    assert result.exit_code == 2
    assert "Error" in result.output and "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_a_non_empty_target_needs_force(tmp_path):
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "mine.txt").write_text("x")
    code, output = tfk_new(tmp_path, "demo")
    assert (code, output.count("\n")) == (1, 1)
    assert "exists and is not empty" in output and "--force" in output
    assert [p.name for p in (tmp_path / "demo").iterdir()] == ["mine.txt"]
    assert tfk_new(tmp_path, "demo", "--force")[0] == 0


@pytest.mark.parametrize("dry_run", [[], ["--dry-run"]])
@pytest.mark.parametrize("below", ["", "sub"])
def test_an_output_dir_that_is_or_is_under_a_file_is_a_clean_error(
    tmp_path, dry_run, below
):
    (tmp_path / "somefile").write_text("x")
    code, output = tfk_new(tmp_path / "somefile" / below, "demo", *dry_run)
    assert (code, output.count("\n")) == (1, 1)
    assert "somefile is a file, not a directory" in output
    assert [p.name for p in tmp_path.iterdir()] == ["somefile"]


def test_an_unwritable_output_dir_is_a_clean_error(tmp_path, monkeypatch):
    # The suite runs as root, who may write anywhere; stand in for a read-only dir.
    real_access = os.access

    def access(path, mode, **options):  # read-only, like a 0o500 directory
        if Path(path) == tmp_path and mode & os.W_OK:
            return False
        return real_access(path, mode, **options)

    monkeypatch.setattr(write.os, "access", access)
    code, output = tfk_new(tmp_path, "demo")
    assert (code, output.count("\n")) == (1, 1)
    assert output == (
        f"error: cannot write into {tmp_path}: permission denied; "
        "choose --output-dir\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_a_path_too_long_for_the_file_system_is_a_clean_error(tmp_path):
    code, output = tfk_new(tmp_path / ("x" * 300), "demo")
    assert (code, output.count("\n")) == (1, 1)
    assert output.startswith("error: cannot write") and "too long" in output
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_is_a_clean_error_that_leaves_nothing(tmp_path, monkeypatch):
    def disk_full(path: Path, contents: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(write, "_write_file", disk_full)
    code, output = tfk_new(tmp_path, "demo")
    assert (code, output) == (
        1,
        f"error: cannot write {tmp_path}/demo: No space left on device\n",
    )
    assert list(tmp_path.iterdir()) == []


NAMES = st.one_of(
    st.text(max_size=40),
    st.from_regex(r"[A-Za-z][A-Za-z0-9_.-]{0,36}", fullmatch=True),
    st.sampled_from(sorted(DEPENDENCY_MODULES)),
)
CHOICES = st.none() | st.sampled_from(["", "pytorch", *STYLES, *TASKS])


@settings(max_examples=30, deadline=None)
@given(
    name=NAMES,
    style=CHOICES,
    task=CHOICES,
    dry_run=st.booleans(),
    force=st.booleans(),
)
def test_any_input_gives_a_project_that_compiles_or_one_clean_error(
    name, style, task, dry_run, force
):
    options = [name]
    options += ["--style", style] if style is not None else []
    options += ["--task", task] if task is not None else []
    options += ["--dry-run"] if dry_run else []
    options += ["--force"] if force else []
    with tempfile.TemporaryDirectory() as parent:
        code, output = tfk_new(Path(parent), *options)
        written = sorted(Path(parent).rglob("*"))
        if code == 0 and not dry_run:
            sources = [p for p in written if p.suffix == ".py"]
            assert sources
            for source in sources:
                compile(source.read_text(), str(source), "exec")
            assert [p.name for p in Path(parent).iterdir()] == [name]
            return
        assert written == []
        if code == 1:
            assert output.startswith("error: ") and output.count("\n") == 1, output
        else:
            assert code in (0, 2), output
            assert code == 0 or "Error" in output
