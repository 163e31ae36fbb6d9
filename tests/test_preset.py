"""Team presets: `tfk new --preset FILE` and `tfk update` following it."""

import re
import subprocess
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tfk_scaffold.cli import app

runner = CliRunner()

PRESET = """\
[preset]
style = "keras"
task = "sequence"
parts = ["serve", "tune"]
templates = "overlay"

[config]
seed = 7

[config.train]
epochs = 3
learning_rate = 0.01
clip_norm = 0.5

[config.tune.space]
"train.batch_size" = {choice = [32, 64]}
"""


@pytest.fixture
def team(tmp_path: Path) -> Path:
    """A team's preset folder: the preset and an overlay of its own files."""
    folder = tmp_path / "team"
    overlay = folder / "overlay"
    (overlay / ".github/workflows").mkdir(parents=True)
    (overlay / "src/__package__").mkdir(parents=True)
    (folder / "vision.toml").write_text(PRESET)
    (overlay / "CODEOWNERS").write_text("* @acme/ml-platform\n")
    # GitHub's own ${{ }} syntax: a file without .j2 is copied, never rendered.
    (overlay / ".github/workflows/internal.yml").write_text(
        "on: push\njobs:\n  x:\n    runs-on: ${{ matrix.os }}\n"
    )
    (overlay / "src/__package__/team.py.j2").write_text(
        '"""{{ name }}: ACME conventions."""\n\nTEAM   =   "acme"\n'
    )
    (overlay / "README.md.j2").write_text(
        '{% include "common/README.md.j2" %}\n## ACME\n\nAsk #ml-platform.\n'
    )
    return folder


def new(parent: Path, *options: str):
    return runner.invoke(app, ["new", "demo", "-o", str(parent), *options])


def test_a_preset_sets_defaults_config_values_and_adds_its_files(team, tmp_path):
    result = new(tmp_path / "repos", "--preset", str(team / "vision.toml"))
    assert result.exit_code == 0, result.output
    assert "keras style, sequence task, with serve, tune" in result.output
    project = tmp_path / "repos/demo"
    config = (project / "config.toml").read_text()
    values = tomllib.loads(config)
    assert values["seed"] == 7
    assert values["train"]["epochs"] == 3
    assert values["train"]["learning_rate"] == 0.01
    assert values["tune"]["space"]["train"]["batch_size"] == {"choice": [32, 64]}
    assert "model" in values["tune"]["space"]  # the generated space stays
    assert re.search(r"\nclip_norm = 0\.5 +# clip", config)  # its comment stays
    assert (project / "CODEOWNERS").read_text() == "* @acme/ml-platform\n"
    assert (
        "${{ matrix.os }}" in (project / ".github/workflows/internal.yml").read_text()
    )
    team_module = (project / "src/demo/team.py").read_text()
    assert team_module.startswith('"""demo: ACME conventions."""')
    assert 'TEAM = "acme"' in team_module  # checked and formatted like tfk's own
    readme = (project / "README.md").read_text()
    assert readme.startswith("# demo") and readme.endswith("Ask #ml-platform.\n")
    (project / "src/demo/serve.py").stat()  # the preset's part
    record = tomllib.loads((project / ".tfk.toml").read_text())
    assert record["spec"]["preset"] == "../../team/vision.toml"
    assert record["spec"]["style"] == "keras"


def test_options_win_over_the_preset(team, tmp_path):
    options = ("--style", "tf", "--task", "tabular", "--with", "", "--no-git")
    result = new(tmp_path, "--preset", str(team / "vision.toml"), *options)
    assert result.exit_code == 0, result.output
    record = tomllib.loads((tmp_path / "demo/.tfk.toml").read_text())
    assert (record["spec"]["style"], record["spec"]["task"]) == ("tf", "tabular")
    assert record["spec"]["parts"] == []
    assert not (tmp_path / "demo/src/demo/serve.py").exists()
    # The preset's [tune.space] waits for the tune part.
    assert "tune" not in tomllib.loads((tmp_path / "demo/config.toml").read_text())


@pytest.mark.parametrize(
    ("preset", "message"),
    [
        ("[config.train]\nepohcs = 3\n", "config key train.epohcs is not in"),
        ('[config.train]\nepochs = "3"\n', "train.epochs must be an integer"),
        ("[config.train]\nclip_norm = true\n", "train.clip_norm must be a number"),
        ('[preset]\nstyle = "pytorch"\n', "unknown style 'pytorch' in preset.style"),
        ('[preset]\nparts = ["serv"]\n', "unknown parts 'serv'"),
        ('[preset]\ntemplates = "nowhere"\n', "templates folder"),
        ("[presets]\n", "unknown key presets"),
        ("epochs = [\n", "is not valid TOML"),
    ],
)
def test_a_wrong_preset_is_one_line_naming_the_key_and_writes_nothing(
    tmp_path, preset, message
):
    file = tmp_path / "team.toml"
    file.write_text(preset)
    result = new(tmp_path / "out", "--preset", str(file), "--no-git")
    assert result.exit_code == 1
    assert message in result.output and len(result.output.splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_an_overlay_cannot_replace_the_record_nor_hold_binary_files(team, tmp_path):
    (team / "overlay/logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\xff\x00")
    result = new(tmp_path / "out", "--preset", str(team / "vision.toml"))
    assert result.exit_code == 1 and "not UTF-8 text" in result.output
    (team / "overlay/logo.png").unlink()
    (team / "overlay/.tfk.toml").write_text("")
    result = new(tmp_path / "out", "--preset", str(team / "vision.toml"))
    assert result.exit_code == 1 and "cannot replace .tfk.toml" in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "path, contents, message",
    [
        (
            "banner.txt.j2",
            b"\xff\xfe {{ name }}\n",
            "template banner.txt.j2 is not UTF-8",
        ),
        ("loop.txt.j2", b'{% include "loop.txt.j2" %}\n', "includes or extends itself"),
        ("config.toml", b"seed = = 1\n", "its config.toml is not valid TOML"),
        (".git/hooks/pre-commit", b"#!/bin/sh\n", "cannot write into .git"),
    ],
)
def test_a_broken_overlay_file_is_one_line_naming_it_and_writes_nothing(
    team, tmp_path, path, contents, message
):
    file = team / "overlay" / path
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_bytes(contents)
    result = new(tmp_path / "out", "--preset", str(team / "vision.toml"), "--no-git")
    assert result.exit_code == 1
    assert message in result.output and len(result.output.splitlines()) == 1
    assert not (tmp_path / "out").exists()


def git(project: Path, *arguments: str) -> str:
    return subprocess.run(
        ["git", *arguments], cwd=project, capture_output=True, text=True, check=True
    ).stdout


def test_update_follows_the_preset_and_keeps_the_teams_edits(team, tmp_path):
    assert new(tmp_path / "repos", "--preset", str(team / "vision.toml")).exit_code == 0
    project = tmp_path / "repos/demo"
    # the repo's own edit, committed
    config = project / "config.toml"
    config.write_text(config.read_text().replace("seed = 7", "seed = 11"))
    git(project, "commit", "-qam", "our seed")
    # the team changes its preset
    preset = team / "vision.toml"
    preset.write_text(PRESET.replace("epochs = 3", "epochs = 5"))
    (team / "overlay/CODEOWNERS").write_text("* @acme/ml\n")

    result = runner.invoke(app, ["update", str(project)])

    assert result.exit_code == 0, result.output
    values = tomllib.loads(config.read_text())
    assert (values["train"]["epochs"], values["seed"]) == (5, 11)
    assert (project / "CODEOWNERS").read_text() == "* @acme/ml\n"
    assert "up to date" in runner.invoke(app, ["update", str(project)]).output


def test_a_moved_preset_is_named_and_update_preset_follows_it(team, tmp_path):
    assert new(tmp_path / "repos", "--preset", str(team / "vision.toml")).exit_code == 0
    project = tmp_path / "repos/demo"
    moved = team.rename(tmp_path / "presets")

    result = runner.invoke(app, ["update", str(project)])
    assert result.exit_code == 1
    assert "../../team/vision.toml (in .tfk.toml), is not found" in result.output

    result = runner.invoke(
        app, ["update", str(project), "--preset", str(moved / "vision.toml")]
    )
    assert result.exit_code == 0, result.output
    record = tomllib.loads((project / ".tfk.toml").read_text())
    assert record["spec"]["preset"] == "../../presets/vision.toml"
    assert "up to date" in runner.invoke(app, ["update", str(project)]).output


def test_a_project_without_git_keeps_its_preset_files_on_update(team, tmp_path):
    # Without git history the base is re-rendered with today's preset, so the
    # update must see the preset's files as tfk's own, unchanged: kept.
    preset = str(team / "vision.toml")
    assert new(tmp_path, "--preset", preset, "--no-git").exit_code == 0
    result = runner.invoke(app, ["update", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output
    assert (tmp_path / "demo/CODEOWNERS").read_text() == "* @acme/ml-platform\n"
