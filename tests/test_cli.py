import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

from typer.testing import CliRunner

from tfk_scaffold import __version__, cli
from tfk_scaffold.cli import app
from tfk_scaffold.release import shipped_hash
from tfk_scaffold.spec import STYLES

runner = CliRunner()


def test_version_names_the_exact_template_set():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"tfk {__version__} (templates {shipped_hash()})\n"


def test_styles_describes_each_style_and_task_with_an_example():
    result = runner.invoke(app, ["styles"])
    assert result.exit_code == 0
    for word in ("keras", "tf", "hybrid", "tabular", "tfk new demo --style tf"):
        assert word in result.output


def test_new_writes_the_project_and_says_what_to_do_next(tmp_path):
    result = runner.invoke(
        app, ["new", "demo", "--style", "tf", "-o", str(tmp_path), "--no-git"]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "demo" / "src" / "demo" / "train.py").is_file()
    assert "python -m demo train" in result.output


def test_without_a_terminal_the_style_defaults_to_hybrid(tmp_path):
    result = runner.invoke(app, ["new", "demo", "-o", str(tmp_path), "--no-git"])
    assert result.exit_code == 0, result.output
    assert "hybrid style" in result.output
    assert (
        "class Classifier(keras.Model)"
        in (tmp_path / "demo/src/demo/model.py").read_text()
    )


def test_on_a_terminal_new_shows_the_styles_and_asks_for_one(tmp_path, monkeypatch):
    # CliRunner swaps sys.stdin during invoke, so stand in for the module cli sees.
    terminal = SimpleNamespace(stdin=SimpleNamespace(isatty=lambda: True))
    monkeypatch.setattr(cli, "sys", terminal)
    result = runner.invoke(
        app,
        ["new", "demo", "-o", str(tmp_path), "--no-git"],
        input="pytorch\ntf\nserve\n",
    )
    assert result.exit_code == 0, result.output
    for style, description in STYLES.items():
        assert f"  {style:<7} {description}\n" in result.output
    assert "style (keras, tf, hybrid) [hybrid]:" in result.output
    assert "'pytorch' is not one of" in result.output  # asked again
    assert "parts (comma-separated, all, or none) [none]:" in result.output
    assert "(tf style, tabular task, with serve" in result.output
    assert (tmp_path / "demo/src/demo/serve.py").is_file()


def test_off_a_terminal_new_never_waits_for_input(tmp_path):
    with (
        (tmp_path / "out").open("w") as out,
        subprocess.Popen(
            [sys.executable, "-m", "tfk_scaffold", "new", "demo", "--no-git"],
            cwd=tmp_path,
            stdin=subprocess.PIPE,  # open and silent: a prompt would block forever
            stdout=out,
        ) as process,
    ):
        assert process.wait(timeout=60) == 0
    assert "hybrid style" in (tmp_path / "out").read_text()


def test_dry_run_lists_the_files_and_writes_nothing(tmp_path):
    result = runner.invoke(app, ["new", "demo", "--dry-run", "-o", str(tmp_path)])
    assert result.exit_code == 0
    assert "src/demo/train.py" in result.output
    assert list(tmp_path.iterdir()) == []


def test_a_bad_name_is_exit_code_1_with_one_clear_line_and_nothing_written(tmp_path):
    result = runner.invoke(app, ["new", "1bad", "-o", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output.startswith("error: project name '1bad' is not usable")
    assert list(tmp_path.iterdir()) == []


def test_an_existing_project_is_not_overwritten_without_force(tmp_path):
    runner.invoke(app, ["new", "demo", "-o", str(tmp_path), "--no-git"])
    result = runner.invoke(app, ["new", "demo", "-o", str(tmp_path), "--no-git"])
    assert result.exit_code == 1
    assert "exists and is not empty" in result.output


def test_a_usage_error_is_exit_code_2():
    result = runner.invoke(app, ["new", "demo", "--bogus"])
    assert result.exit_code == 2


def test_the_cli_never_imports_tensorflow(tmp_path):
    code = (
        "import sys\n"
        "from tfk_scaffold.cli import app\n"
        "from typer.testing import CliRunner\n"
        f"CliRunner().invoke(app, ['new', 'demo', '-o', {str(tmp_path)!r}])\n"
        "import json; print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    modules = json.loads(out.stdout.strip().splitlines()[-1])
    assert (tmp_path / "demo").is_dir()
    assert not [m for m in modules if m.split(".")[0] in {"tensorflow", "keras"}]


def test_the_installed_command_runs_end_to_end(tmp_path):
    tfk = shutil.which("tfk", path=str(Path(sys.executable).parent)) or shutil.which(
        "tfk"
    )
    assert tfk, "tfk is not installed: pip install -e ."
    result = subprocess.run(
        [tfk, "new", "smoke", "--style", "keras", "-o", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "smoke" / ".git").is_dir() or "git" in result.stdout
