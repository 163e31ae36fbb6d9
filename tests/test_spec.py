import importlib.metadata
import re

import pytest
from packaging.requirements import Requirement

from tfk_scaffold.errors import UserError
from tfk_scaffold.spec import DEPENDENCY_MODULES, make_spec, package_name


@pytest.mark.parametrize(
    ("name", "package"),
    [("demo", "demo"), ("my-model", "my_model"), ("My-Model_2", "my_model_2")],
)
def test_a_project_name_becomes_an_importable_package_name(name, package):
    assert package_name(name) == package
    assert make_spec(name).package == package


def test_all_means_every_part_the_task_has():
    assert make_spec("demo", parts=["all"]).parts == (
        "serve",
        "cluster",
        "tune",
        "stream",
        "debug",
        "tflite",
        "tfrecord",
    )
    assert make_spec("demo", task="image", parts=["all"]).parts == (
        "serve",
        "cluster",
        "tune",
        "debug",
        "tflite",
    )
    with pytest.raises(UserError, match="the stream part is for the tabular task"):
        make_spec("demo", task="sequence", parts=["stream"])
    with pytest.raises(UserError, match="unknown part 'srve'"):
        make_spec("demo", parts=["all", "srve"])  # a typo beside `all` is no part
    with pytest.raises(
        UserError, match="for the tabular and sequence tasks, not image"
    ):
        make_spec("demo", task="image", parts=["tfrecord"])


def test_defaults_are_hybrid_and_tabular():
    spec = make_spec("demo")
    assert (spec.style, spec.task) == ("hybrid", "tabular")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "the project name is empty"),
        ("   ", "the project name is empty"),
        ("1model", "start with a letter"),
        ("my model", "start with a letter"),
        ("a/b", "looks like a path"),
        ("..", "looks like a path"),
        ("x..y", "looks like a path"),
        ("{{evil}}", "template syntax"),
        ("class", "is a Python keyword"),
        ("tensorflow", "shadows a module"),
        ("keras", "shadows a module"),
        ("numpy", "shadows a module"),
        ("test", "named like the project's test modules"),
        ("certifi", "shadows a module.*try certifi-project"),
        ("urllib3", "shadows a module"),
        ("PIL", "shadows a module"),
        ("Queue", "shadows a module"),
        ("test_data", "named like the project's test modules; try my-test_data"),
        ("test_config", "named like the project's test modules"),
        ("test-serve", "named like the project's test modules; try my-test-serve"),
        ("model_test", "named like the project's test modules"),
        ("conftest", "named like the project's test modules"),
        ("json", "shadows a module"),
        ("x" * 33, "longer than 32 characters"),
    ],
)
def test_bad_names_are_rejected_with_a_hint(name, message):
    with pytest.raises(UserError, match=message):
        make_spec(name)


def test_unknown_style_and_task_list_the_choices():
    with pytest.raises(
        UserError, match="unknown style 'pytorch'; choose one of: keras, tf, hybrid"
    ):
        make_spec("demo", style="pytorch")
    with pytest.raises(UserError, match="unknown task 'audio'"):
        make_spec("demo", task="audio")


def test_the_spec_is_frozen():
    spec = make_spec("demo")
    with pytest.raises(AttributeError):
        spec.style = "tf"


def test_every_suggested_name_is_accepted():
    for name in [
        "certifi",
        "test-serve",
        "class",
        "tensorboard_data_server",
        "conftest",
    ]:
        with pytest.raises(UserError, match=r"; try (\S+)$") as raised:
            make_spec(name)
        suggestion = re.search(r"; try (\S+)$", str(raised.value))[1]
        assert make_spec(suggestion).name == suggestion


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _installed_closure(roots: list[str]) -> set[str]:
    """The distributions `roots` pull in, as installed here (extras not followed)."""
    installed = {
        _canonical(d.metadata["Name"]): d for d in importlib.metadata.distributions()
    }
    seen: set[str] = set()
    todo = [_canonical(root) for root in roots]
    while todo:
        name = todo.pop()
        if name in seen or name not in installed:
            continue
        seen.add(name)
        for line in installed[name].requires or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(_canonical(requirement.name))
    return {module for name in seen for module in _top_level(installed[name])}


def _top_level(distribution: importlib.metadata.Distribution) -> set[str]:
    listed = distribution.read_text("top_level.txt")
    if listed:
        return set(listed.split())
    parts = (file.parts for file in distribution.files or [])
    return {
        part[0].removesuffix(".py")
        for part in parts
        if len(part) > 1 or part[0].endswith(".py")
        if not part[0].endswith((".dist-info", ".data", ".libs")) and part[0] != ".."
    } - {"__pycache__"}


def test_no_module_the_generated_project_installs_can_be_shadowed():
    # The tool's [test] extra installs what a generated project depends on.
    roots = ["tensorflow-cpu", "tensorboard", "numpy", "pyarrow", "pytest", "optuna"]
    roots += ["ruff", "black", "vulture"]  # the dev extra's linters
    modules = _installed_closure(roots)
    assert "tensorflow" in modules and "certifi" in modules  # the closure was found
    shadowed = {
        module.lower()
        for module in modules
        if module.isidentifier()
        # black's compiled helper, named by a hash; vulture's wheel ships its
        # development scripts as a top-level `dev` folder that nothing imports.
        and not module.endswith("__mypyc") and module != "dev"
    }
    assert shadowed - DEPENDENCY_MODULES == set()
