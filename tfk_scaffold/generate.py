"""The pipeline in one call: spec -> render -> check -> write."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tfk_scaffold.check import check
from tfk_scaffold.files import File
from tfk_scaffold.render import render
from tfk_scaffold.spec import ProjectSpec
from tfk_scaffold.write import (
    WriteReport,
    check_destination,
    would_overwrite,
    write_project,
)


@dataclass
class Plan:
    spec: ProjectSpec
    target: Path
    files: list[File]
    overwrites: list[str]


def build(spec: ProjectSpec, templates: Path | None = None) -> list[File]:
    """Render and check: exactly the files `tfk new` writes for `spec`."""
    return check(render(spec, templates))


def plan_project(spec: ProjectSpec, parent: Path, *, force: bool) -> Plan:
    """Everything but the writing: what `--dry-run` shows."""
    target = parent / spec.name
    check_destination(target, force=force)
    files = build(spec)
    overwrites = [str(path) for path in would_overwrite(files, target)]
    return Plan(spec, target, files, overwrites)


def new_project(
    spec: ProjectSpec, parent: Path, *, force: bool, git: bool
) -> WriteReport:
    plan = plan_project(spec, parent, force=force)
    return write_project(plan.files, plan.target, force=force, git=git)
