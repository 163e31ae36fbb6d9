import pytest

from tfk_scaffold.errors import UserError
from tfk_scaffold.spec import make_spec, package_name


@pytest.mark.parametrize(
    ("name", "package"),
    [("demo", "demo"), ("my-model", "my_model"), ("My-Model_2", "my_model_2")],
)
def test_a_project_name_becomes_an_importable_package_name(name, package):
    assert package_name(name) == package
    assert make_spec(name).package == package


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
        ("test", "shadows a module"),
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
