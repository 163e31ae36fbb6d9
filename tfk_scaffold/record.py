"""`.tfk.toml`: what a project was made from, validated before anything uses it.

The version must look like a version and the template hash like a hash, so
neither is ever used as a path; the spec is checked like `tfk new`'s input.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

from tfk_scaffold.errors import UserError
from tfk_scaffold.preset import load_preset
from tfk_scaffold.release import HASH_LENGTH
from tfk_scaffold.spec import (
    EARLY_PARTS,
    FORMER_CORE,
    ProjectSpec,
    is_for,
    make_spec,
)

RECORD = PurePosixPath(".tfk.toml")
VERSION_PATTERN = re.compile(r"\d+(\.\d+){1,3}((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?")
HASH_PATTERN = re.compile(rf"[0-9a-f]{{{HASH_LENGTH}}}")


@dataclass(frozen=True)
class Record:
    """`.tfk.toml`: the spec, the tfk version and (since 0.2.0) the template hash."""

    spec: ProjectSpec
    templates: str | None
    # The team preset's path, relative to the project (see preset.py).
    preset: str | None = None


def read_record(project: Path) -> Record:
    """`project/.tfk.toml`, validated like `tfk new`'s input: one error if not."""
    record = project / RECORD
    try:
        found = record.is_file()
    except OSError as error:  # e.g. a name too long for the file system
        raise UserError(f"{project} cannot be read: {error.strerror}") from None
    if not found:
        raise UserError(
            f"{record} not found: {project} was not made by tfk, or its record was "
            "deleted; run tfk update inside a tfk project or pass its path "
            "(git can restore a deleted .tfk.toml)"
        )
    try:
        data = tomllib.loads(record.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise UserError(f"{record} is not valid TOML ({error}); restore it") from None
    version = _field(data, record, "tfk", "version")
    if not VERSION_PATTERN.fullmatch(version):
        raise UserError(
            f"{record}: version {version!r} is not a tfk version such as 0.2.0; "
            "restore the file (git checkout -- .tfk.toml)"
        )
    templates = data["tfk"].get("templates")
    if templates is not None and not (
        isinstance(templates, str) and HASH_PATTERN.fullmatch(templates)
    ):
        raise UserError(
            f"{record}: templates {templates!r} is not a template hash "
            f"({HASH_LENGTH} hex digits); restore the file"
        )
    name, package, style, task = (
        _field(data, record, "spec", key)
        for key in ("name", "package", "style", "task")
    )
    try:
        spec = make_spec(name, style, task, _parts(data, record, version, task))
    except UserError as error:
        raise UserError(f"{record} holds a spec tfk cannot use: {error}") from None
    if spec.package != package:
        raise UserError(
            f"{record}: package {package!r} does not match name {name!r} "
            f"(expected {spec.package!r}); restore the file"
        )
    preset = data["spec"].get("preset")
    if preset is not None and not (isinstance(preset, str) and preset.strip()):
        raise UserError(f"{record}: preset must be the path of a preset file")
    return Record(replace(spec, tfk_version=version), templates, preset)


def with_preset(project: Path, record: Record, moved: Path | None) -> ProjectSpec:
    """The recorded spec with its preset read from the recorded path, or from
    `moved` (`tfk update --preset FILE`) when that file is gone."""
    if record.preset is None and moved is None:
        return record.spec
    recorded = project / record.preset if record.preset else None
    if recorded is not None and (recorded.is_file() or moved is None):
        if not recorded.exists():
            raise UserError(
                f"the preset this project follows, {record.preset} (in .tfk.toml), "
                "is not found; pass its new path with --preset FILE"
            )
        return replace(record.spec, preset=load_preset(recorded, project))
    return replace(record.spec, preset=load_preset(moved, project))


def release_number(version: str) -> tuple[int, ...]:
    """The numbers of a version's release part, to compare: 0.10.1 -> (0, 10, 1)."""
    release = re.match(r"\d+(\.\d+)*", version)
    return tuple(int(number) for number in release[0].split(".")) if release else ()


def _parts(
    data: dict[str, object], record: Path, version: str, task: str
) -> tuple[str, ...]:
    """The recorded parts; for a project recorded before parts existed, the
    parts it has, and before a part left the core, that part too (if its task
    has it)."""
    spec = data.get("spec")
    if isinstance(spec, dict) and "parts" not in spec:
        return EARLY_PARTS  # before parts, and before any former core part
    parts = spec["parts"] if isinstance(spec, dict) else ()
    if not (isinstance(parts, list | tuple) and all(isinstance(p, str) for p in parts)):
        raise UserError(f"{record}: parts must be a list of names; restore it")
    released = release_number(version)
    kept = (
        part
        for part, since in FORMER_CORE.items()
        if released < since and is_for(part, task)
    )
    return (*parts, *(part for part in kept if part not in parts))


def _field(data: dict[str, object], record: Path, table: str, key: str) -> str:
    value = data.get(table, {})
    value = value.get(key) if isinstance(value, dict) else None
    if not isinstance(value, str):
        raise UserError(f"{record} needs a string `{key}` in [{table}]; restore it")
    return value
