import re
from pathlib import Path, PurePosixPath

import jinja2
import pytest

from tfk_scaffold.errors import TemplateBugError
from tfk_scaffold.render import _QuietBytecodeCache, render
from tfk_scaffold.spec import PART_OPTIONS, PARTS, TASKS, make_spec

SHARED = {
    ".github/workflows/ci.yml",
    ".gitignore",
    ".pre-commit-config.yaml",
    ".tfk.toml",
    "README.md",
    "config.toml",
    "pyproject.toml",
    "src/demo/__init__.py",
    "src/demo/__main__.py",
    "src/demo/cli.py",
    "src/demo/config.py",
    "src/demo/data.py",
    "src/demo/distribute.py",
    "src/demo/errors.py",
    "src/demo/export.py",
    "src/demo/model.py",
    "src/demo/predict.py",
    "src/demo/records.py",
    "src/demo/resume.py",
    "src/demo/runs.py",
    "src/demo/sources.py",
    "src/demo/train.py",
    "tests/conftest.py",
    "tests/test_commands.py",
    "tests/test_config.py",
    "tests/test_convergence.py",
    "tests/test_data.py",
    "tests/test_resume.py",
    "tests/test_distribute.py",
    "tests/test_sources.py",
    "tests/test_style.py",
}


# What each optional part adds to the core.
PART_FILES = {
    "serve": {"src/demo/serve.py", "tests/test_serve.py"},
    "cluster": {
        "src/demo/launch.py",
        "src/demo/multi_worker.py",  # the Keras styles' loop; tf has its own
        "tests/test_cluster.py",
        "deploy/kubernetes.json",
    },
    "tune": {"src/demo/tune.py", "tests/test_tune.py"},
    "stream": {"src/demo/stream.py"},
    "debug": {"src/demo/debug.py", "tests/test_debug.py"},
    "tflite": {"src/demo/tflite.py", "tests/test_tflite.py"},
    "tfrecord": {"src/demo/tfrecord.py"},
}


# What a task has beyond the shared layout: tabular's CSV reader and schema
# rules, shared by its in-memory reader and the stream part, and the test of the
# epoch `train` keeps (only tabular synthetic data overfits within two epochs).
TASK_FILES = {
    "tabular": {
        "src/demo/csv_files.py",
        "src/demo/schema.py",
        "tests/test_kept_epoch.py",
    },
    "sequence": set(),
    "image": set(),
}


@pytest.mark.parametrize("task", list(TASKS))
def test_every_style_writes_the_same_layout_for_a_task(style, task):
    paths = {str(file.path) for file in render(make_spec("demo", style, task))}
    assert paths == SHARED | TASK_FILES[task]


@pytest.mark.parametrize("part", list(PARTS))
def test_a_part_adds_its_files_and_the_core_never_mentions_it(part):
    core = {str(f.path): f.contents for f in render(make_spec("demo"))}
    whole = {str(f.path) for f in render(make_spec("demo", parts=[part]))}
    assert whole - core.keys() == PART_FILES[part]
    # The core's CLI and README do not offer what is not there.
    mention = {
        "serve": "python -m demo serve",
        "cluster": "--launcher ray",
        "tune": "python -m demo tune",
        "stream": "data.memory_budget_mb",
        "debug": "--debug-dump",
        "tflite": "--tflite",
        "tfrecord": "tf.train.Example",
    }[part]
    assert mention not in core["README.md"]
    # Only the table of the parts' options, to name the part if one is given.
    cli = without_part_tables(core["src/demo/cli.py"])
    assert mention.split()[-1] not in cli
    for option in (name for name, owner in PART_OPTIONS.items() if owner == part):
        assert f'    "{option}": "{part}",' in core["src/demo/cli.py"]
    if part == "stream":
        assert "memory_budget" not in core["config.toml"]
        assert "import sources, stream" not in core["src/demo/data.py"]
    if part == "tune":  # nor asks for what only the part needs
        assert "optuna" not in core["pyproject.toml"]
        assert "[tune" not in core["config.toml"]
        assert "tune" not in without_part_tables(core["src/demo/config.py"])


@pytest.mark.parametrize("option", list(PART_OPTIONS))
def test_each_option_named_for_a_part_is_one_the_part_defines(option):
    part = PART_OPTIONS[option]
    files = {str(f.path): f.contents for f in render(make_spec("demo", parts=[part]))}
    assert f'"{option}"' in without_part_tables(files["src/demo/cli.py"])


def without_part_tables(text: str) -> str:
    """`text` without the entries of PART_OPTIONS and PART_KEYS, which name
    what the parts a project lacks would add."""
    entry = re.compile(r'^    "[\w.-]+": "\w+",$')
    return "\n".join(line for line in text.splitlines() if not entry.match(line))


def test_style_files_differ_only_where_the_styles_do():
    rendered = {
        style: {str(f.path): f.contents for f in render(make_spec("demo", style))}
        for style in ("keras", "tf", "hybrid")
    }
    assert rendered["keras"]["src/demo/data.py"] == rendered["tf"]["src/demo/data.py"]
    assert (
        rendered["keras"]["src/demo/model.py"]
        != rendered["hybrid"]["src/demo/model.py"]
    )
    assert "keras" not in "".join(
        text.lower() for path, text in rendered["tf"].items() if path.startswith("src/")
    )


def test_the_record_holds_the_spec():
    record = next(
        f
        for f in render(make_spec("my-model", "tf"))
        if f.path == PurePosixPath(".tfk.toml")
    )
    assert 'name = "my-model"' in record.contents
    assert 'package = "my_model"' in record.contents
    assert 'style = "tf"' in record.contents


def make_templates(root: Path, text: str) -> Path:
    (root / "common").mkdir(parents=True)
    (root / "hybrid").mkdir()
    (root / "common" / "a.txt.j2").write_text(text)
    return root


def test_an_undefined_variable_fails_instead_of_rendering_empty(tmp_path):
    root = make_templates(tmp_path, "hello {{ not_a_variable }}\n")
    with pytest.raises(TemplateBugError, match="not_a_variable"):
        render(make_spec("demo"), root)


def test_a_style_file_replaces_the_common_one_and_the_package_token_is_replaced(
    tmp_path,
):
    root = make_templates(tmp_path, "common\n")
    (root / "hybrid" / "a.txt.j2").write_text("hybrid {{ package }}\n")
    (root / "common" / "__package__").mkdir()
    (root / "common" / "__package__" / "b.txt").write_text("plain\n")
    files = {str(f.path): f.contents for f in render(make_spec("my-app"), root)}
    assert files == {"a.txt": "hybrid my_app\n", "my_app/b.txt": "plain\n"}


def test_a_template_cache_that_cannot_be_used_only_costs_time(tmp_path):
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("")
    environment = jinja2.Environment(
        loader=jinja2.DictLoader({"hello.j2": "hello {{ name }}"}),
        bytecode_cache=_QuietBytecodeCache(str(not_a_directory)),
    )
    assert environment.get_template("hello.j2").render(name="tfk") == "hello tfk"
