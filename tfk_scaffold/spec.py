"""Step 1 of the pipeline: command-line values -> one frozen, validated ProjectSpec."""

from __future__ import annotations

import keyword
import re
import sys
from dataclasses import asdict, dataclass

from tfk_scaffold import __version__
from tfk_scaffold.errors import UserError

STYLES: dict[str, str] = {
    "keras": "Keras only: a Functional model, compile + fit, callbacks.",
    "tf": "Pure TensorFlow, no Keras: tf.Module, hand-written Adam, GradientTape loop.",
    "hybrid": "Keras layers driven by fit, with a custom GradientTape train_step, "
    "gradient clipping and statistics.",
}
TASKS: dict[str, str] = {
    "tabular": "Classify feature vectors (CSV or TFRecord); synthetic: 100 features.",
    "sequence": "Classify sequences with a recurrent network.",
    "image": "Classify images with a small CNN.",
}
DEFAULT_STYLE = "hybrid"
DEFAULT_TASK = "tabular"
MAX_NAME_LENGTH = 32

# Names a project package must not take: importing them would shadow what it needs.
RESERVED_NAMES = frozenset(
    {
        # the project's own dependencies and tools
        "tensorflow",
        "tensorboard",
        "keras",
        "numpy",
        "pytest",
        "ray",
        "black",
        "ruff",
        "pre_commit",
        "setuptools",
        "pip",
        # what TensorFlow, TensorBoard and Keras import when they load
        "absl",
        "astunparse",
        "flatbuffers",
        "gast",
        "google",
        "grpc",
        "h5py",
        "markdown",
        "ml_dtypes",
        "namex",
        "opt_einsum",
        "optree",
        "packaging",
        "protobuf",
        "requests",
        "rich",
        "six",
        "termcolor",
        "typing_extensions",
        "werkzeug",
        "wrapt",
        # the project's own layout: pytest imports tests/conftest.py as `conftest`
        "conftest",
        "test",
        "tests",
        "src",
        "tfk",
        "tfk_scaffold",
    }
)
_NAME_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")


@dataclass(frozen=True)
class ProjectSpec:
    """Everything a render needs, validated once."""

    name: str
    package: str
    style: str
    task: str
    tfk_version: str = __version__

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def package_name(name: str) -> str:
    """The import name of a project: lower case, dashes become underscores."""
    return re.sub(r"[-.]+", "_", name).lower()


def make_spec(
    name: str, style: str = DEFAULT_STYLE, task: str = DEFAULT_TASK
) -> ProjectSpec:
    """Validate raw values; every rejection says what to type instead."""
    _check_name(name)
    package = package_name(name)
    _check_package(name, package)
    _check_choice("style", style, STYLES)
    _check_choice("task", task, TASKS)
    return ProjectSpec(name=name, package=package, style=style, task=task)


def _check_name(name: str) -> None:
    if not name or not name.strip():
        raise UserError("the project name is empty; try: tfk new my-project")
    if any(token in name for token in ("{{", "{%", "{#", "}}")):
        raise UserError(
            f"project name {name!r} contains template syntax; "
            "use letters, digits, - and _"
        )
    if "/" in name or "\\" in name or ".." in name:
        raise UserError(
            f"project name {name!r} looks like a path; give a plain name and "
            "put the parent directory in --output-dir"
        )
    if len(name) > MAX_NAME_LENGTH:
        raise UserError(
            f"project name {name!r} is longer than {MAX_NAME_LENGTH} characters"
        )
    if not _NAME_PATTERN.fullmatch(name):
        raise UserError(
            f"project name {name!r} is not usable: start with a letter and use only "
            "letters, digits, - and _ (for example: my-project)"
        )


def _check_package(name: str, package: str) -> None:
    if keyword.iskeyword(package) or keyword.issoftkeyword(package):
        raise UserError(
            f"project name {name!r} is a Python keyword; try {name}-project"
        )
    if package in RESERVED_NAMES or package in sys.stdlib_module_names:
        raise UserError(
            f"project name {name!r} would make a package {package!r} that shadows "
            f"a module the project needs; try {name}-project"
        )


def _check_choice(what: str, value: str, choices: dict[str, str]) -> None:
    if value not in choices:
        raise UserError(
            f"unknown {what} {value!r}; choose one of: {', '.join(choices)}"
        )
