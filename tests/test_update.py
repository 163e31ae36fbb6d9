"""`tfk update`: a three-way merge that never loses a user edit.

A newer tfk release is simulated by a copy of the templates with edits, passed as
`templates`; the base always comes from the shipped (recorded version's) ones.
"""

import shutil
from pathlib import Path, PurePosixPath

import pytest
from typer.testing import CliRunner

from tfk_scaffold.cli import app
from tfk_scaffold.errors import UserError
from tfk_scaffold.generate import build, new_project
from tfk_scaffold.render import templates_root
from tfk_scaffold.spec import make_spec
from tfk_scaffold.update import REINSTALL, apply_update, plan_update, summary

runner = CliRunner()
README_TEMPLATE = "common/README.md.j2"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    new_project(make_spec("demo"), tmp_path, force=False, git=False)
    return tmp_path / "demo"


def newer_templates(tmp_path: Path, edits: dict[str, str | None]) -> Path:
    """A copy of the templates with `edits`: path -> new text, or None to remove."""
    root = tmp_path / "newer"
    shutil.copytree(templates_root(), root)
    for name, text in edits.items():
        if text is None:
            (root / name).unlink()
        else:
            (root / name).write_text(text)
    return root


def replaced(name: str, old: str, new: str) -> str:
    text = (templates_root() / name).read_text()
    assert old in text
    return text.replace(old, new, 1)


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(path.relative_to(root)): (path.read_bytes(), path.stat().st_mtime_ns)
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def update(project: Path, templates: Path, **options: str) -> list[str]:
    return apply_update(plan_update(project, templates=templates, **options)).lines


def test_a_user_edit_and_a_template_change_in_one_file_merge_cleanly(project, tmp_path):
    readme = project / "README.md"
    readme.write_text(readme.read_text() + "\nOur team's notes.\n")
    root = newer_templates(
        tmp_path, {README_TEMPLATE: replaced(README_TEMPLATE, "## Resume", "## Resum")}
    )
    lines = update(project, root)
    text = readme.read_text()
    assert "## Resum\n" in text
    assert text.endswith("\nOur team's notes.\n")
    assert "<<<<<<<" not in text
    assert lines[-1].startswith("updated ")


def test_a_changed_pyproject_says_to_install_the_project_again(project, tmp_path):
    name = "common/pyproject.toml.j2"
    root = newer_templates(
        tmp_path, {name: replaced(name, '"numpy>=1.26"', '"numpy>=2"')}
    )
    lines = update(project, root)
    assert '"numpy>=2"' in (project / "pyproject.toml").read_text()
    assert lines[-2].startswith("updated ")
    assert lines[-1] == REINSTALL


def test_a_conflicting_edit_keeps_both_sides_between_markers(project, tmp_path):
    readme = project / "README.md"
    readme.write_text(readme.read_text().replace("## Resume", "## Resuming a run"))
    root = newer_templates(
        tmp_path, {README_TEMPLATE: replaced(README_TEMPLATE, "## Resume", "## Resum")}
    )
    plan = plan_update(project, templates=root)
    assert plan.conflicts == [PurePosixPath("README.md")]
    apply_update(plan)
    text = readme.read_text()
    assert (
        "<<<<<<< yours\n## Resuming a run\n||||||| base\n## Resume\n=======\n"
        "## Resum\n>>>>>>> tfk\n"
    ) in text
    assert "conflict" in summary(plan, dry_run=False)[-1]


def test_a_deleted_file_stays_deleted_even_when_the_template_changed_it(
    project, tmp_path
):
    name = "common/tests/test_data.py.j2"
    (project / "tests/test_data.py").unlink()
    root = newer_templates(tmp_path, {name: (templates_root() / name).read_text()})
    (root / name).write_text((root / name).read_text() + "\n\n# newer\n")
    lines = update(project, root)
    assert not (project / "tests/test_data.py").exists()
    assert "kept tests/test_data.py: you deleted it; it stays deleted" in lines


def test_files_the_user_added_are_never_touched(project, tmp_path):
    (project / "notes.md").write_text("mine\n")
    (project / "src/demo/extra.py").write_text("X = 1\n")
    before = {
        k: v
        for k, v in snapshot(project).items()
        if k in {"notes.md", "src/demo/extra.py"}
    }
    root = newer_templates(
        tmp_path, {README_TEMPLATE: replaced(README_TEMPLATE, "## Resume", "## Resum")}
    )
    update(project, root)
    after = snapshot(project)
    assert {k: after[k] for k in before} == before


def test_files_new_in_the_template_are_added_and_dropped_ones_removed(
    project, tmp_path
):
    root = newer_templates(
        tmp_path,
        {"common/NEWS.md.j2": "# {{ name }} news\n", "common/.gitignore.j2": None},
    )
    lines = update(project, root)
    assert (project / "NEWS.md").read_text() == "# demo news\n"
    assert not (project / ".gitignore").exists()
    assert {"added NEWS.md", "removed .gitignore"} <= set(lines)


def test_a_file_the_user_and_the_template_both_add_is_an_add_add_conflict(
    project, tmp_path
):
    (project / "NEWS.md").write_text("mine\n")
    root = newer_templates(tmp_path, {"common/NEWS.md.j2": "tfk's\n"})
    lines = update(project, root)
    assert (project / "NEWS.md").read_text() == (
        "<<<<<<< yours\nmine\n||||||| base\n=======\ntfk's\n>>>>>>> tfk\n"
    )
    assert "conflict NEWS.md" in lines


def test_the_record_is_written_last_so_an_interrupted_update_can_rerun(
    project, tmp_path
):
    root = newer_templates(tmp_path, {"common/NEWS.md.j2": "news\n"})
    writes = plan_update(project, templates=root, style="tf").writes()
    assert list(writes)[-1] == PurePosixPath(".tfk.toml")
    assert len(writes) > 2


def test_a_dropped_file_the_user_edited_is_kept(project, tmp_path):
    (project / ".gitignore").write_text("mine\n")
    root = newer_templates(tmp_path, {"common/.gitignore.j2": None})
    lines = update(project, root)
    assert (project / ".gitignore").read_text() == "mine\n"
    assert any(line.startswith("kept .gitignore") for line in lines)


def test_changing_the_style_rewrites_style_files_and_keeps_edits(project):
    readme = project / "README.md"
    readme.write_text(readme.read_text() + "Our team's notes.\n")
    result = runner.invoke(app, ["update", str(project), "--style", "tf"])
    assert result.exit_code == 0, result.output
    tf_files = {str(f.path): f.contents for f in build(make_spec("demo", "tf"))}
    assert (project / "src/demo/model.py").read_text() == tf_files["src/demo/model.py"]
    assert (project / ".tfk.toml").read_text() == tf_files[".tfk.toml"]
    assert readme.read_text() == tf_files["README.md"] + "Our team's notes.\n"


def test_a_style_change_over_an_edited_style_file_conflicts_with_exit_code_1(
    project,
):
    model = project / "src/demo/model.py"
    model.write_text(model.read_text().replace("class Classifier", "class Ours"))
    result = runner.invoke(app, ["update", str(project), "--style", "keras"])
    assert result.exit_code == 1
    assert "conflict src/demo/model.py" in result.output
    assert "<<<<<<< yours" in model.read_text()
    assert "class Ours" in model.read_text()


def test_an_update_with_nothing_new_changes_nothing(project):
    before = snapshot(project)
    result = runner.invoke(app, ["update", str(project)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("nothing to update:")
    assert snapshot(project) == before


def test_dry_run_prints_the_diff_and_writes_nothing(project):
    before = snapshot(project)
    result = runner.invoke(app, ["update", str(project), "--style", "tf", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "--- a/.tfk.toml\n+++ b/.tfk.toml\n" in result.output
    assert '-style = "hybrid"\n+style = "tf"\n' in result.output
    assert "would update src/demo/model.py" in result.output
    assert snapshot(project) == before


def test_a_missing_record_is_a_clear_error(tmp_path):
    result = runner.invoke(app, ["update", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output.startswith(f"error: {tmp_path}/.tfk.toml not found")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ("[tfk\n", "is not valid TOML"),
        ("[tfk]\nversion = 1\n", "needs a string `version` in [tfk]"),
        (
            '[tfk]\nversion = "0.1.0"\n[spec]\nname = "1x"\npackage = "x"\n'
            'style = "tf"\ntask = "tabular"\n',
            "holds a spec tfk cannot use: project name '1x'",
        ),
        (
            '[tfk]\nversion = "0.0.1"\n[spec]\nname = "demo"\npackage = "demo"\n'
            'style = "tf"\ntask = "tabular"\n',
            "no base to merge",
        ),
    ],
)
def test_a_broken_record_is_a_clear_error(tmp_path, record, message):
    (tmp_path / ".tfk.toml").write_text(record)
    with pytest.raises(UserError, match=message.replace("[", r"\[")):
        plan_update(tmp_path)


def test_with_serve_adds_the_part_to_a_lean_project_and_keeps_edits(tmp_path):
    new_project(make_spec("demo"), tmp_path, force=False, git=True)
    project = tmp_path / "demo"
    cli_file = project / "src/demo/cli.py"
    text = cli_file.read_text()
    cli_file.write_text(
        text.replace("def quiet_tensorflow", "# the team's note\ndef quiet_tensorflow")
    )
    git_commit(project, "edit")

    result = runner.invoke(app, ["update", str(project), "--with", "serve"])

    assert result.exit_code == 0, result.output
    assert (project / "src/demo/serve.py").is_file()
    assert (project / "tests/test_serve.py").is_file()
    cli_text = cli_file.read_text()
    assert "def run_serve(" in cli_text and "# the team's note\n" in cli_text
    assert 'parts = ["serve"]' in (project / ".tfk.toml").read_text()
    again = runner.invoke(app, ["update", str(project), "--check"])
    assert again.exit_code == 0, again.output


def test_without_serve_removes_its_unedited_files_and_keeps_an_edited_one(tmp_path):
    new_project(make_spec("demo", parts=["serve"]), tmp_path, force=False, git=False)
    project = tmp_path / "demo"
    tests_file = project / "tests/test_serve.py"
    tests_file.write_text(tests_file.read_text() + "# the team's own case\n")

    result = runner.invoke(app, ["update", str(project), "--without", "serve"])

    assert not (project / "src/demo/serve.py").exists()
    assert "def run_serve(" not in (project / "src/demo/cli.py").read_text()
    assert "# the team's own case\n" in tests_file.read_text(), result.output


def test_with_all_adds_every_part_the_task_can_have(tmp_path):
    spec = make_spec("demo", task="image")
    new_project(spec, tmp_path, force=False, git=False)
    project = tmp_path / "demo"

    result = runner.invoke(app, ["update", str(project), "--with", "all"])

    assert result.exit_code == 0, result.output
    record = (project / ".tfk.toml").read_text()
    assert 'parts = ["serve", "cluster", "tune", "debug", "tflite"]' in record
    assert not (project / "src/demo/tfrecord.py").exists()  # not for images
    assert (project / "src/demo/serve.py").is_file()


@pytest.mark.parametrize("option", ["--with", "--without"])
def test_an_unknown_part_is_one_clear_error(project, option):
    result = runner.invoke(app, ["update", str(project), option, "gui"])
    assert result.exit_code == 1
    assert (
        "unknown part 'gui'; choose one of: "
        "serve, cluster, tune, stream, debug, tflite, tfrecord (or all)"
        in result.output
    )


def test_removing_a_part_the_project_lacks_is_an_error_not_up_to_date(project):
    result = runner.invoke(app, ["update", str(project), "--without", "tune"])
    assert result.exit_code == 1
    assert "has no tune part" in result.output
    assert "up to date" not in result.output


def git_commit(project: Path, message: str) -> None:
    import subprocess

    subprocess.run(["git", "add", "-A"], cwd=project, check=True)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", message],
        cwd=project,
        check=True,
    )
