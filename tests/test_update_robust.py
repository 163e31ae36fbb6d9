"""`tfk update` without git history, and what goes wrong around it: a broken
record, `kill -9`, CRLF files, symlinks, a rerun over conflicts; and the release
guard that keeps `.tfk.toml`'s template hash honest."""

import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import ROOT
from test_update import README_TEMPLATE, newer_templates, replaced, snapshot
from typer.testing import CliRunner

from tfk_scaffold import __version__, release
from tfk_scaffold.cli import app
from tfk_scaffold.generate import build, new_project
from tfk_scaffold.render import templates_root
from tfk_scaffold.spec import make_spec
from tfk_scaffold.update import apply_update, plan_update
from tfk_scaffold.write import write_project

runner = CliRunner()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    new_project(make_spec("demo"), tmp_path, force=False, git=False)
    return tmp_path / "demo"


@pytest.mark.parametrize("version", ["", "..", "../..", "/etc", "latest"])
def test_a_version_that_is_not_a_version_is_one_error_and_nothing_moves(
    project, version
):
    record = project / ".tfk.toml"
    record.write_text(record.read_text().replace(f'"{__version__}"', f'"{version}"'))
    before = snapshot(project)
    result = runner.invoke(app, ["update", str(project), "--style", "tf"])
    assert result.exit_code == 1
    assert result.output == (
        f"error: {record}: version {version!r} is not a tfk version such as 0.2.0; "
        "restore the file (git checkout -- .tfk.toml)\n"
    )
    assert snapshot(project) == before


def test_a_project_of_a_newer_tfk_is_refused_and_nothing_moves(project):
    record = project / ".tfk.toml"
    record.write_text(record.read_text().replace(f'"{__version__}"', '"99.0"'))
    before = snapshot(project)
    result = runner.invoke(app, ["update", str(project)])
    assert result.exit_code == 1
    assert f"made by tfk 99.0, newer than this tfk {__version__}" in result.output
    assert snapshot(project) == before


def test_a_project_path_the_file_system_refuses_is_one_error(tmp_path):
    result = runner.invoke(app, ["update", str(tmp_path / ("a" * 300))])
    assert result.exit_code == 1
    assert result.output.startswith("error: ") and "File name too long" in result.output
    assert len(result.output.splitlines()) == 1


def test_a_template_hash_that_is_not_a_hash_is_one_error(project):
    record = project / ".tfk.toml"
    text = record.read_text()
    record.write_text(text.replace(release.shipped_hash(), "../../etc"))
    result = runner.invoke(app, ["update", str(project)])
    assert result.exit_code == 1
    assert "templates '../../etc' is not a template hash" in result.output


def conflicting(project: Path) -> None:
    """Edits that `tfk update --style tf` merges with conflicts."""
    model = project / "src/demo/model.py"
    model.write_text(model.read_text().replace("class ", "class Our"))
    readme = project / "README.md"
    readme.write_text(readme.read_text() + "Our notes.\n")


def nesting(text: str) -> int:
    depth = deepest = 0
    for line in text.splitlines():
        if line.startswith("<<<<<<<"):
            depth += 1
        elif line.startswith(">>>>>>>"):
            depth -= 1
        deepest = max(deepest, depth)
    return deepest


def leftovers(project: Path) -> list[Path]:
    return [path for path in project.rglob("*") if ".tfk-" in path.name]


def first_write(project: Path, process: subprocess.Popen[bytes]) -> None:
    """Return as soon as `process` starts writing into `project`."""
    folders = [project, project / "src/demo", project / "tests"]
    before = {entry: entry.stat().st_mtime_ns for f in folders for entry in f.iterdir()}
    while process.poll() is None:
        for folder in folders:
            for entry in folder.iterdir():
                if entry not in before or entry.stat().st_mtime_ns != before[entry]:
                    return
        time.sleep(0.0002)


def test_kill_9_during_a_conflicting_update_then_a_rerun_never_nests_markers(
    project, tmp_path
):
    conflicting(project)
    pristine = tmp_path / "pristine"
    shutil.copytree(project, pristine)
    command = [sys.executable, "-m", "tfk_scaffold", "update", "--style", "tf"]
    partial = 0
    for trial in range(6):
        shutil.rmtree(project)
        shutil.copytree(pristine, project)
        process = subprocess.Popen([*command, str(project)], cwd=ROOT)
        first_write(project, process)
        time.sleep(0.002 * trial)
        process.kill()
        process.wait()
        record = (project / ".tfk.toml").read_text()
        partial += 'style = "hybrid"' in record and (
            bool(leftovers(project)) or snapshot(project) != snapshot(pristine)
        )
        rerun = runner.invoke(app, ["update", str(project), "--style", "tf"])
        assert rerun.exit_code in (0, 1), rerun.output
        assert "Traceback" not in rerun.output
        assert leftovers(project) == []
        for file in project.rglob("*.py"):
            assert nesting(file.read_text()) <= 1, file
        assert "class Our" in (project / "src/demo/model.py").read_text()
        assert (project / "README.md").read_text().count("Our notes.\n") == 1
    assert partial, "no trial was killed in the middle of the update"


def test_a_rerun_removes_temporary_files_an_interrupted_update_left(project):
    stale = [
        project / "src/demo/.export.py.tfk-a1b2c3d4",
        project / ".README.md.tfk-x_yz9876",
    ]
    for file in stale:
        file.write_text("half")
    mine = project / "src/demo/.notes.tfk-keep"
    mine.write_text("mine")
    check = runner.invoke(app, ["update", str(project), "--check"])
    assert check.exit_code == 0
    assert all(file.exists() for file in stale)
    result = runner.invoke(app, ["update", str(project)])
    assert result.exit_code == 0, result.output
    assert not any(file.exists() for file in stale)
    assert mine.read_text() == "mine"


def test_a_second_update_after_a_conflict_says_the_markers_remain(project):
    conflicting(project)
    first = runner.invoke(app, ["update", str(project), "--style", "tf"])
    assert first.exit_code == 1
    before = snapshot(project)
    second = runner.invoke(app, ["update", str(project)])
    assert second.exit_code == 1
    assert second.output == (
        "error: conflict markers from an earlier update remain in "
        "src/demo/model.py: resolve them, then run tfk update again\n"
    )
    assert snapshot(project) == before


def resum(tmp_path: Path) -> Path:
    return newer_templates(
        tmp_path, {README_TEMPLATE: replaced(README_TEMPLATE, "## Resume", "## Resum")}
    )


def test_an_unedited_crlf_file_stays_crlf_and_gets_the_change(project, tmp_path):
    readme = project / "README.md"
    readme.write_bytes(readme.read_bytes().replace(b"\n", b"\r\n"))
    lines = apply_update(plan_update(project, templates=resum(tmp_path))).lines
    assert "updated README.md" in lines
    data = readme.read_bytes()
    assert b"## Resum\r\n" in data
    assert data.count(b"\n") == data.count(b"\r\n")
    assert b"<<<<<<<" not in data


def test_an_edited_crlf_file_merges_line_by_line(project, tmp_path):
    readme = project / "README.md"
    text = readme.read_bytes().replace(b"\n", b"\r\n") + b"Our notes.\r\n"
    readme.write_bytes(text)
    outcome = apply_update(plan_update(project, templates=resum(tmp_path)))
    assert not outcome.conflicts
    data = readme.read_bytes()
    assert data.endswith(b"## Resum\r\n" + data.split(b"## Resum\r\n")[1])
    assert data.endswith(b"Our notes.\r\n")
    assert data.count(b"\n") == data.count(b"\r\n")


def test_a_symlinked_config_stays_a_link_and_its_target_is_merged(project, tmp_path):
    (project / "configs").mkdir()
    (project / "config.toml").rename(project / "configs/base.toml")
    (project / "config.toml").symlink_to("configs/base.toml")
    name = "common/config.toml.j2"
    root = newer_templates(
        tmp_path, {name: (templates_root() / name).read_text() + "# newer\n"}
    )
    lines = apply_update(plan_update(project, templates=root)).lines
    assert (project / "config.toml").is_symlink()
    assert (project / "configs/base.toml").read_text().endswith("# newer\n")
    assert "updated configs/base.toml" in lines


def test_templates_have_a_recorded_release(tmp_path):
    """The release guard: a template change needs `python scripts/release.py`."""
    recorded = release.recorded_releases()
    assert recorded.get(__version__) == release.shipped_hash(), (
        f"templates changed since tfk {__version__} was recorded: run "
        "`python scripts/release.py NEW_VERSION` (or the current version, if it "
        "was never published)"
    )
    assert len(set(recorded.values())) == len(
        recorded
    ), "two releases, one template set"
    for digest in recorded.values():
        kept = release.released_templates(digest)
        assert kept is not None, f"released/{digest}.tar.xz is missing"
        assert release.templates_hash(kept) == digest


def test_the_release_script_records_a_new_version_and_keeps_the_last(tmp_path):
    clone = tmp_path / "tfk"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    before = tomllib.loads((clone / "tfk_scaffold/releases.toml").read_text())
    init = (clone / "tfk_scaffold/__init__.py").read_text()
    previous = before["releases"].get(re.findall(r'__version__ = "(.+)"', init)[0])
    if previous != release.templates_hash(clone / "templates"):
        pytest.skip("the last commit's templates are not recorded: the guard fails")
    template = clone / "templates" / README_TEMPLATE
    template.write_text(template.read_text() + "\nNew in 9.0.0.\n")
    result = subprocess.run(
        [sys.executable, "scripts/release.py", "9.0.0"],
        cwd=clone,
        env={**os.environ, "PYTHONPATH": str(clone)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    records = tomllib.loads((clone / "tfk_scaffold/releases.toml").read_text())
    digest = release.templates_hash(clone / "templates")
    assert records["releases"] == {**before["releases"], "9.0.0": digest}
    assert '__version__ = "9.0.0"' in (clone / "tfk_scaffold/__init__.py").read_text()
    kept = clone / f"tfk_scaffold/released/{previous}.tar.xz"
    with tarfile.open(kept) as tar:
        tar.extractall(tmp_path / "kept", filter="data")
    assert release.templates_hash(tmp_path / "kept/templates") == previous


def test_the_record_and_the_version_name_the_template_set():
    files = {str(file.path): file.contents for file in build(make_spec("demo"))}
    record = tomllib.loads(files[".tfk.toml"])
    assert record["tfk"] == {
        "version": __version__,
        "templates": release.shipped_hash(),
    }
    assert (
        release.describe() == f"tfk {__version__} (templates {release.shipped_hash()})"
    )


def test_a_project_without_git_updates_from_a_kept_release(tmp_path, monkeypatch):
    """A --no-git project made by an earlier release: its templates are kept as
    released/<hash>.tar.xz, so its base is exact without any history."""
    older = tmp_path / "older" / "templates"
    shutil.copytree(templates_root(), older)
    readme = older / README_TEMPLATE
    readme.write_text(readme.read_text().replace("## Resume", "## Resuming"))
    digest = release.templates_hash(older)
    kept = tmp_path / "released"
    kept.mkdir()
    with tarfile.open(kept / f"{digest}.tar.xz", "w:xz") as tar:
        tar.add(older, arcname="templates")
    monkeypatch.setattr(release, "RELEASED", kept)
    target = tmp_path / "demo"
    write_project(build(make_spec("demo"), older), target, force=False, git=False)
    assert f'templates = "{digest}"' in (target / ".tfk.toml").read_text()
    (target / "README.md").write_text((target / "README.md").read_text() + "Ours.\n")
    result = runner.invoke(app, ["update", str(target)])
    assert result.exit_code == 0, result.output
    text = (target / "README.md").read_text()
    assert "## Resume\n" in text
    assert text.endswith("Ours.\n")
    assert release.shipped_hash() in (target / ".tfk.toml").read_text()


def test_a_project_made_when_tune_was_core_keeps_it_on_update(tmp_path):
    """tfk 0.3.0 and 0.4.0 gave every project `tune`; since 0.5.0 it is a part.
    Updating such a project keeps its tune and records the part."""
    older = release.released_templates(release.recorded_releases()["0.4.0"])
    spec = replace(make_spec("demo", parts=()), tfk_version="0.4.0")
    target = tmp_path / "demo"
    write_project(build(spec, older), target, force=False, git=False)
    assert (target / "src/demo/tune.py").is_file()
    result = runner.invoke(app, ["update", str(target)])
    assert result.exit_code == 0, result.output
    record = tomllib.loads((target / ".tfk.toml").read_text())
    assert record["spec"]["parts"] == ["tune", "stream", "debug", "tflite", "tfrecord"]
    assert (target / "src/demo/tune.py").is_file()
    assert (target / "tests/test_tune.py").is_file()
    assert "[tune.space]" in (target / "config.toml").read_text()
    # Without the part, a new project has none of it.
    lean = {str(file.path) for file in build(make_spec("demo"))}
    assert "src/demo/tune.py" not in lean


@pytest.mark.parametrize(
    ("task", "parts"),
    [
        ("tabular", ["stream", "debug", "tflite", "tfrecord"]),
        ("sequence", ["debug", "tflite", "tfrecord"]),
    ],
)
def test_a_project_made_when_streaming_was_core_keeps_it_on_update(
    tmp_path, task, parts
):
    """Until 0.10.0 every tabular project streamed CSV files larger than memory;
    since then that is the stream part, which only the tabular task has."""
    older = release.released_templates(release.recorded_releases()["0.9.0"])
    spec = replace(make_spec("demo", task=task), tfk_version="0.9.0")
    target = tmp_path / "demo"
    write_project(build(spec, older), target, force=False, git=False)
    result = runner.invoke(app, ["update", str(target)])
    assert result.exit_code == 0, result.output
    record = tomllib.loads((target / ".tfk.toml").read_text())
    assert record["spec"]["parts"] == parts
    assert (target / "src/demo/stream.py").is_file() == ("stream" in parts)
    config = (target / "config.toml").read_text()
    assert ("memory_budget_mb" in config) == ("stream" in parts)


def test_the_generated_ci_checks_for_template_updates_weekly_without_blocking():
    files = {str(file.path): file.contents for file in build(make_spec("demo"))}
    ci = files[".github/workflows/ci.yml"]
    job = ci[ci.index("  template-update:") :]
    assert "schedule:\n    - cron:" in ci
    assert "workflow_dispatch:" in ci
    assert "continue-on-error: true" in job
    assert "fetch-depth: 0" in job
    assert "- run: tfk update --check" in job
