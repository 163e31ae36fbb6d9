"""Team presets: a team's defaults and its own templates, for every repo it makes.

A preset is a TOML file:

    [preset]
    style = "keras"              # defaults for tfk new; its options still win
    task = "image"
    parts = ["serve"]
    templates = "overlay"        # a folder beside this file (optional)

    [config.train]               # values written into the project's config.toml
    epochs = 30

The overlay folder mirrors a project: its files are added to the project, or
replace tfk's file of the same path (`__package__` in a path is the package;
a `.j2` file is a Jinja template with tfk's variables, and may include tfk's
own templates; any other file is copied as it is). `.tfk.toml` records the
preset's path, so `tfk update` renders the same preset's current version.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from tfk_scaffold.errors import UserError

PRESET_KEYS = {"style", "task", "parts", "templates"}
# Tables whose keys are the user's to choose (any config key can be searched).
OPEN_TABLES = {("tune", "space")}
_HEADER = re.compile(r"^\s*\[([^\[\]]+)\]\s*(#.*)?$")


@dataclass(frozen=True)
class Preset:
    """A validated preset: where it is, its defaults, values and overlay."""

    path: Path
    recorded: str  # how .tfk.toml names it: relative to the project
    style: str | None = None
    task: str | None = None
    parts: tuple[str, ...] | None = None
    config: tuple[tuple[tuple[str, ...], object], ...] = ()
    overlay: Path | None = None


def load_preset(path: Path, project: Path) -> Preset:
    """Read and check `path` for the project in `project`; one error naming the
    file and the key if it is wrong."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"preset {path} not found") from None
    except IsADirectoryError:
        raise UserError(f"preset {path} is a folder; give its TOML file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise UserError(f"preset {path} is not valid TOML: {error}") from None
    except OSError as error:
        raise UserError(f"preset {path} cannot be read: {error.strerror}") from None
    unknown = sorted(data.keys() - {"preset", "config"})
    table = data.get("preset", {})
    if not isinstance(table, dict):
        unknown.append("preset")
    else:
        unknown += [f"preset.{key}" for key in sorted(table.keys() - PRESET_KEYS)]
    if unknown:
        raise UserError(
            f"preset {path}: unknown key {unknown[0]}; a preset has [preset] "
            f"({', '.join(sorted(PRESET_KEYS))}) and [config] tables"
        )
    config = data.get("config", {})
    if not isinstance(config, dict):
        raise UserError(f"preset {path}: config must be a table such as [config.train]")
    return Preset(
        path=path.resolve(),
        recorded=recorded_path(path, project),
        style=_text(table, "style", path),
        task=_text(table, "task", path),
        parts=_names(table, path),
        config=tuple(_leaves(config, ())),
        overlay=_overlay(table, path),
    )


def recorded_path(path: Path, project: Path) -> str:
    """How `.tfk.toml` names a preset: relative to the project, as teams keep
    presets in a checkout beside their repos."""
    return Path(os.path.relpath(path.resolve(), project.resolve())).as_posix()


def _text(table: dict[str, object], key: str, path: Path) -> str | None:
    value = table.get(key)
    if value is not None and not isinstance(value, str):
        raise UserError(f"preset {path}: preset.{key} must be a string")
    if key in ("style", "task") and value:
        _check(path, key, [value])
    return value


def _check(path: Path, key: str, values: list[str]) -> None:
    from tfk_scaffold.spec import PARTS, STYLES, TASKS  # spec imports this module

    choices = {"style": STYLES, "task": TASKS, "parts": PARTS}[key]
    for value in values:
        if value not in choices:
            raise UserError(
                f"preset {path}: unknown {key} {value!r} in preset.{key}; choose "
                f"from {', '.join(choices)}"
            )


def _names(table: dict[str, object], path: Path) -> tuple[str, ...] | None:
    value = table.get("parts")
    if value is None:
        return None
    if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        raise UserError(f'preset {path}: preset.parts must be a list such as ["serve"]')
    _check(path, "parts", value)
    return tuple(value)


def _overlay(table: dict[str, object], path: Path) -> Path | None:
    name = _text(table, "templates", path)
    if name is None:
        return None
    folder = (path.parent / name).resolve()
    if not folder.is_dir():
        raise UserError(f"preset {path}: templates folder {folder} not found")
    return folder


def _leaves(table: dict[str, object], prefix: tuple[str, ...]):
    """(key path, value) for every value of a nested [config] table."""
    for key, value in table.items():
        if isinstance(value, dict) and (*prefix, key) not in OPEN_TABLES:
            yield from _leaves(value, (*prefix, key))
        elif isinstance(value, dict):
            for inner, leaf in _flat(value, ()):
                yield (*prefix, key, ".".join(inner)), leaf
        else:
            yield (*prefix, key), value


def _flat(table: dict[str, object], prefix: tuple[str, ...]):
    """An open table's entries as dotted keys; a search range stays a table."""
    for key, value in table.items():
        if isinstance(value, dict) and not _is_range(value):
            yield from _flat(value, (*prefix, key))
        else:
            yield (*prefix, key), value


def _is_range(value: dict[str, object]) -> bool:
    return len(value) == 1 and isinstance(next(iter(value.values())), list)


# Overlay -------------------------------------------------------------------


def overlay_templates(preset: Preset) -> dict[PurePosixPath, str]:
    """Output path (with the package token) -> overlay template name."""
    if preset.overlay is None:
        return {}
    chosen = {}
    for source in sorted(preset.overlay.rglob("*")):
        if source.is_file() and "__pycache__" not in source.parts:
            name = source.relative_to(preset.overlay).as_posix()
            output = PurePosixPath(name)
            if ".git" in output.parts:
                raise UserError(
                    f"preset {preset.path}: its templates cannot write into .git "
                    f"({name}); a project's git folder is git's"
                )
            if output.suffix == ".j2":
                output = output.with_suffix("")
            if output == PurePosixPath(".tfk.toml"):
                raise UserError(
                    f"preset {preset.path}: its templates cannot replace .tfk.toml"
                )
            chosen[output] = name
    return chosen


# Config values ---------------------------------------------------------------


def apply_config(
    text: str, preset: Preset, variant: str, without: Iterable[str] = ()
) -> str:
    """config.toml with the preset's values in place, its comments kept.

    Every key must be one the generated config has (under [tune.space], any
    config key may be added); a value must have the default's type. Values
    for the tables of parts the project does not have (`without`, e.g. tune)
    wait until the part is added."""
    defaults = tomllib.loads(text)
    lines = text.splitlines(keepends=True)
    for keys, value in preset.config:
        if keys[0].split(".")[0] in without:
            continue
        where = f"preset {preset.path}: config key {'.'.join(keys)}"
        default = _lookup(defaults, keys)
        if default is _MISSING and keys[:-1] not in OPEN_TABLES:
            raise UserError(f"{where} is not in a {variant} project's config.toml")
        if default is not _MISSING and not _same_kind(default, value):
            raise UserError(
                f"{where} must be {_kind(default)} like its default "
                f"{_toml(default)}, not {_toml(value)}"
            )
        lines = _set(lines, keys, _toml(value), where)
    return "".join(lines)


_MISSING = object()


def _lookup(table: dict[str, object], keys: tuple[str, ...]) -> object:
    value: object = table
    for key in (part for name in keys for part in name.split(".")):
        if not isinstance(value, dict) or key not in value:
            return _MISSING
        value = value[key]
    return value


def _same_kind(default: object, value: object) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return type(default) is type(value)
    if isinstance(default, float):
        return isinstance(value, int | float)
    return type(default) is type(value)


def _kind(value: object) -> str:
    return {
        bool: "true or false",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a table",
    }.get(type(value), type(value).__name__)


def _set(lines: list[str], keys: tuple[str, ...], value: str, where: str) -> list[str]:
    """Replace the value on the key's line, keeping its comment where it was,
    or add the line to an open table."""
    section, key = ".".join(keys[:-1]), keys[-1]
    start, end = _section(lines, section, where)
    pattern = re.compile(rf"^(\s*{re.escape(key)}\s*=\s*)(.*?)(\n?)$", re.S)
    for index in range(start, end):
        match = pattern.match(lines[index])
        if match:
            head, rest, newline = match.groups()
            cut = _value_end(rest)
            comment = rest[cut:].lstrip()
            gap = " " * max(2, len(rest) - len(comment) - len(value)) if comment else ""
            lines[index] = head + value + gap + comment + newline
            return lines
    while end > start and not lines[end - 1].strip():
        end -= 1
    return [*lines[:end], f"{key} = {value}\n", *lines[end:]]


def _section(lines: list[str], section: str, where: str) -> tuple[int, int]:
    """The line range of a [section] (the top-level keys for "")."""
    start = 0
    if section:
        headers = [i for i, line in enumerate(lines) if _header(line) == section]
        if not headers:
            raise UserError(f"{where}: config.toml has no [{section}] table")
        start = headers[0] + 1
    end = next(
        (i for i in range(start, len(lines)) if _header(lines[i]) is not None),
        len(lines),
    )
    return start, end


def _header(line: str) -> str | None:
    match = _HEADER.match(line)
    return match.group(1).strip() if match else None


def _value_end(rest: str) -> int:
    """Where a line's value ends: before the first `#` that leaves a whole
    TOML value in front of it (a `#` may sit inside a string)."""
    for match in re.finditer(r"\s*#", rest):
        try:
            tomllib.loads("v = " + rest[: match.start()])
        except tomllib.TOMLDecodeError:
            continue
        return match.start()
    return len(rest)


def _toml(value: object) -> str:
    """A TOML value as config.toml writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    if isinstance(value, dict):
        items = (f"{_key(key)} = {_toml(item)}" for key, item in value.items())
        return "{" + ", ".join(items) + "}"
    raise UserError(f"a preset value {value!r} cannot go into config.toml")


def _string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    escaped = "".join(
        f"\\u{ord(c):04x}" if ord(c) < 0x20 or ord(c) == 0x7F else c for c in escaped
    )
    return f'"{escaped}"'


def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _string(key)
