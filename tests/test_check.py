from pathlib import PurePosixPath

import pytest

from tfk_scaffold.check import check
from tfk_scaffold.errors import TemplateBugError
from tfk_scaffold.files import File


def one(path: str, text: str) -> File:
    return check([File(PurePosixPath(path), text)])[0]


def test_clean_python_is_left_exactly_as_it_is():
    text = "def f(x):\n    return x\n"
    assert one("a.py", text).contents == text


def test_an_over_long_line_is_formatted_by_black():
    long_call = (
        "result = some_function("
        + ", ".join(f"argument_{i}" for i in range(12))
        + ")\n"
    )
    formatted = one("a.py", long_call).contents
    assert max(len(line) for line in formatted.splitlines()) <= 88
    assert formatted.startswith("result = some_function(\n")


@pytest.mark.parametrize("leftover", ["{{ name }}", "{% if x %}", "{# note #}"])
def test_leftover_template_syntax_is_refused_with_its_line(leftover):
    with pytest.raises(
        TemplateBugError, match=r"README.md:2 still holds template syntax"
    ):
        one("README.md", f"title\n{leftover}\n")


def test_github_actions_expressions_are_not_template_leftovers():
    text = "run: echo ${{ matrix.python }}\n"
    assert one("ci.yml", text).contents == text


def test_python_that_does_not_compile_is_refused():
    with pytest.raises(TemplateBugError, match=r"a.py:2 does not compile"):
        one("a.py", "x = 1\ndef broken(:\n")
