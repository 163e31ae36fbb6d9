"""Step 1 of the pipeline: command-line values -> one frozen, validated ProjectSpec."""

from __future__ import annotations

import keyword
import re
import sys
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from tfk_scaffold import __version__
from tfk_scaffold.errors import UserError
from tfk_scaffold.preset import Preset

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
# Optional parts: the core (config, data, model, train/evaluate, export, predict,
# TensorBoard, resume, tests, CI) is always there; a part adds its modules, tests
# and commands.
PARTS: dict[str, str] = {
    "serve": "A TF Serving-compatible REST server for the export, and its tests.",
    "cluster": "Training on many machines: a Ray launcher, a Kubernetes manifest, "
    "and tests that train two workers on this machine.",
    "tune": "Hyperparameter search with Optuna: the `tune` command, its "
    "[tune] config and tests.",
    "stream": "CSV files larger than memory, streamed from disk every epoch "
    "(data.cache, data.memory_budget_mb); tabular task only.",
    "debug": "`train --debug` names the op that first makes a NaN; "
    "`--debug-dump` records TensorBoard Debugger V2 data.",
    "tflite": "`export --tflite`: the exported model for TensorFlow Lite, and "
    "a test that it computes what the SavedModel does.",
    "tfrecord": "TFRecord files of tf.train.Examples as data, beside CSV; "
    "tabular and sequence tasks.",
}
# The command-line options a part adds: a project without the part names the
# part when one of them is given.
PART_OPTIONS = {
    "--launcher": "cluster",
    "--workers": "cluster",
    "--debug": "debug",
    "--debug-dump": "debug",
    "--tflite": "tflite",
}
# The config keys (and sections) a part adds, named the same way.
PART_KEYS = {
    "data.shuffle_buffer": "stream",
    "data.cache": "stream",
    "data.memory_budget_mb": "stream",
    "tune": "tune",
}
# The tasks a part is for, where not every task.
PART_TASKS = {"stream": ("tabular",), "tfrecord": ("tabular", "sequence")}
ALL_PARTS = "all"
# What a project made before parts existed (tfk 0.2.0 and earlier) has: its
# record names no parts, and `tfk update` keeps these, adding no new one.
EARLY_PARTS = ("serve", "cluster")
# Parts that were core before they became optional, and the first release
# without them in the core: a project recorded earlier keeps them.
FORMER_CORE = {
    "tune": (0, 5, 0),
    "stream": (0, 10, 0),
    "debug": (0, 11, 0),
    "tflite": (0, 11, 0),
    "tfrecord": (0, 13, 0),
}
# What installs a generated project with what its tests need.
INSTALL = "pip install -e '.[cpu,test]'"
DEFAULT_STYLE = "hybrid"
DEFAULT_TASK = "tabular"
MAX_NAME_LENGTH = 32

# Import names a project package must not take: a package `src/NAME` on the path
# would be imported instead of the real one. Kept a superset of the top-level
# modules of every distribution the generated project installs (tensorflow-cpu,
# tensorboard, numpy, pytest and their whole dependency trees; the dev and ray
# extras' main ones); tests/test_spec.py recomputes the closure from the installed
# packages and fails when a new dependency brings a name this list lacks. Compared
# in lower case: on a case-insensitive file system `pil` shadows `PIL`.
DEPENDENCY_MODULES = frozenset(
    {
        # the project's own dependencies and tools
        "tensorflow",
        "tensorboard",
        "tensorboard_data_server",
        "keras",
        "numpy",
        "pytest",
        "_pytest",
        "py",
        "iniconfig",
        "pluggy",
        "pygments",
        "ray",
        "pyarrow",
        "black",
        "_black_version",
        "blackd",
        "blib2to3",
        "vulture",
        "click",
        "mypy_extensions",
        "pathspec",
        "platformdirs",
        "pytokens",
        "ruff",
        "pre_commit",
        "cfgv",
        "identify",
        "nodeenv",
        "virtualenv",
        "distlib",
        "filelock",
        "yaml",
        "setuptools",
        "pkg_resources",
        "_distutils_hack",
        "wheel",
        "pip",
        # what TensorFlow, TensorBoard and Keras install and import
        "absl",
        "astunparse",
        "certifi",
        "charset_normalizer",
        "clang",
        "flatbuffers",
        "gast",
        "google",
        "grpc",
        "h5py",
        "idna",
        "markdown",
        "markdown_it",
        "markupsafe",
        "mdurl",
        "ml_dtypes",
        "namex",
        "opt_einsum",
        "optree",
        "packaging",
        "pasta",
        "pil",
        "protobuf",
        "requests",
        "rich",
        "six",
        "termcolor",
        "typing_extensions",
        "urllib3",
        "werkzeug",
        "wrapt",
        # the tune extra: Optuna and what it installs
        "optuna",
        "alembic",
        "colorlog",
        "mako",
        "sqlalchemy",
        "tqdm",
        "_yaml",
        # tfk itself
        "tfk",
        "tfk_scaffold",
    }
)
# The project's own layout: pytest imports tests/test_x.py as a top-level module
# `test_x` and tests/conftest.py as `conftest`, so a package named like any test
# module, today's or a future one, would be shadowed by it or shadow it.
LAYOUT_MODULES = frozenset({"conftest", "test", "tests", "src"})
_TEST_MODULE = re.compile(r"test_.*|.*_test")
_NAME_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")


@dataclass(frozen=True)
class ProjectSpec:
    """Everything a render needs, validated once."""

    name: str
    package: str
    style: str
    task: str
    parts: tuple[str, ...] = ()
    preset: Preset | None = None
    tfk_version: str = __version__

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def package_name(name: str) -> str:
    """The import name of a project: lower case, dashes become underscores."""
    return re.sub(r"[-.]+", "_", name).lower()


def make_spec(
    name: str,
    style: str = DEFAULT_STYLE,
    task: str = DEFAULT_TASK,
    parts: Iterable[str] = (),
    preset: Preset | None = None,
) -> ProjectSpec:
    """Validate raw values; every rejection says what to type instead."""
    _check_name(name)
    package = package_name(name)
    _check_package(name, package)
    _check_choice("style", style, STYLES)
    _check_choice("task", task, TASKS)
    return ProjectSpec(
        name=name,
        package=package,
        style=style,
        task=task,
        parts=_parts(parts, task),
        preset=preset,
    )


def parse_parts(text: str) -> tuple[str, ...]:
    """`--with` as typed: comma-separated part names, or `all` (kept as it is:
    which parts that means depends on the task)."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    return (ALL_PARTS,) if ALL_PARTS in names else tuple(names)


def check_part_names(names: Iterable[str]) -> None:
    """Refuse a name that is not a part (`all` is one)."""
    for name in names:
        if name != ALL_PARTS:
            _check_choice("part", name, PARTS)


def is_for(part: str, task: str) -> bool:
    return task in PART_TASKS.get(part, tuple(TASKS))


def _parts(names: Iterable[str], task: str) -> tuple[str, ...]:
    """The parts in their documented order, each once; `all`: every part the
    task can have."""
    chosen = set(names)
    check_part_names(sorted(chosen))
    if ALL_PARTS in chosen:
        chosen = set(parts_for(task))
    for name in sorted(chosen):
        if not is_for(name, task):
            raise UserError(
                f"the {name} part is for the {' and '.join(PART_TASKS[name])} "
                f"task{'s' if len(PART_TASKS[name]) > 1 else ''}, not {task}"
            )
    return tuple(name for name in PARTS if name in chosen)


def parts_for(task: str) -> tuple[str, ...]:
    """Every part the task can have, in the documented order: what `all` means."""
    return tuple(part for part in PARTS if is_for(part, task))


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
            f"project name {name!r} is a Python keyword; try {_alternative(name)}"
        )
    if _TEST_MODULE.fullmatch(package) or package in LAYOUT_MODULES:
        raise UserError(
            f"project name {name!r} would make a package {package!r} named like the "
            f"project's test modules; try {_alternative(name)}"
        )
    if package in DEPENDENCY_MODULES or package in _STDLIB_MODULES:
        raise UserError(
            f"project name {name!r} would make a package {package!r} that shadows "
            f"a module the project needs; try {_alternative(name)}"
        )


_STDLIB_MODULES = frozenset(module.lower() for module in sys.stdlib_module_names)


def _alternative(name: str) -> str:
    """A name close to `name` that passes every check (the first of two forms)."""
    for candidate in (f"{name}-project", f"my-{name}"):
        package = package_name(candidate)
        if (
            len(candidate) <= MAX_NAME_LENGTH
            and not _TEST_MODULE.fullmatch(package)
            and package not in LAYOUT_MODULES | DEPENDENCY_MODULES | _STDLIB_MODULES
        ):
            return candidate
    return "my-project"


def _check_choice(what: str, value: str, choices: dict[str, str]) -> None:
    if value not in choices:
        raise UserError(
            f"unknown {what} {value!r}; choose one of: {', '.join(choices)}"
            + (f" (or {ALL_PARTS})" if choices is PARTS else "")
        )
