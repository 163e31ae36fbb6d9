"""`tfk update`: bring a generated project up to this tfk, keeping every user edit.

A three-way merge per file, as git merges branches:

- base: what tfk wrote last time: the spec recorded in `.tfk.toml` rendered with
  the templates of the recorded tfk version (`templates_for_version`);
- yours: the files on disk;
- tfk: the spec, possibly changed (`--style`), rendered with this tfk's templates.

Base is reconstructed rather than stored in the project: the render is
deterministic, so the record (a version and four strings) is enough, and the
project carries no second copy of itself. The price: a tfk release that changes
templates must keep the previous release's templates (see `templates_for_version`).

Files the user added are never read; files the user deleted stay deleted; a file
that differs from both sides gets git's conflict markers. Everything here is pure
except reading the project; `write.update_in_place` does the writing.
"""

from __future__ import annotations

import difflib
import shutil
import subprocess
import tempfile
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from tfk_scaffold import __version__
from tfk_scaffold.errors import UserError
from tfk_scaffold.files import File
from tfk_scaffold.generate import build
from tfk_scaffold.render import templates_root
from tfk_scaffold.spec import ProjectSpec, make_spec

RECORD = PurePosixPath(".tfk.toml")
# Where a release keeps the templates of the releases before it, one folder each.
RELEASED = "_released"
YOURS, TFK = "yours", "tfk"
# How `summary` words a change when `--dry-run` only says what would happen.
WOULD = {
    "updated": "would update",
    "added": "would add",
    "removed": "would remove",
    "conflict": "would conflict",
}


@dataclass(frozen=True)
class Change:
    """One file `tfk update` writes: `new` is None for a removal."""

    path: PurePosixPath
    kind: str  # "updated", "added", "removed" or "conflict"
    old: str | None
    new: str | None


@dataclass
class UpdatePlan:
    project: Path
    old: ProjectSpec
    new: ProjectSpec
    changes: list[Change] = field(default_factory=list)
    # Files tfk would have changed but leaves alone, with the reason.
    kept: list[tuple[PurePosixPath, str]] = field(default_factory=list)

    @property
    def conflicts(self) -> list[PurePosixPath]:
        return [change.path for change in self.changes if change.kind == "conflict"]

    def writes(self) -> dict[PurePosixPath, str | None]:
        """Path -> new text (None: remove), the record last: an interrupted update
        keeps the old record, so the next run still merges against the old base."""
        ordered = sorted(self.changes, key=lambda change: change.path == RECORD)
        return {change.path: change.new for change in ordered}


def read_record(project: Path) -> ProjectSpec:
    """The spec and tfk version in `project/.tfk.toml`, validated like `tfk new`'s."""
    record = project / RECORD
    if not record.is_file():
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
    name, package, style, task = (
        _field(data, record, "spec", key)
        for key in ("name", "package", "style", "task")
    )
    try:
        spec = make_spec(name, style, task)
    except UserError as error:
        raise UserError(f"{record} holds a spec tfk cannot use: {error}") from None
    if spec.package != package:
        raise UserError(
            f"{record}: package {package!r} does not match name {name!r} "
            f"(expected {spec.package!r}); restore the file"
        )
    return replace(spec, tfk_version=version)


def _field(data: dict[str, object], record: Path, table: str, key: str) -> str:
    value = data.get(table, {})
    value = value.get(key) if isinstance(value, dict) else None
    if not isinstance(value, str):
        raise UserError(f"{record} needs a string `{key}` in [{table}]; restore it")
    return value


def templates_for_version(version: str) -> Path:
    """The templates tfk `version` rendered with.

    This release's are the shipped templates. When a release changes templates it
    copies the previous release's tree to `templates/_released/<old version>/`
    (same `common/` + `<style>/` layout), so projects made by it still update.
    """
    if version == __version__:
        return templates_root()
    released = templates_root() / RELEASED / version
    if released.is_dir():
        return released
    raise UserError(
        f"this project was made by tfk {version}, whose templates tfk {__version__} "
        f"does not ship; update it with a tfk release that knows {version}"
    )


def plan_update(
    project: Path,
    *,
    style: str | None = None,
    task: str | None = None,
    templates: Path | None = None,
) -> UpdatePlan:
    """Everything `tfk update` would do; reads the project, writes nothing.

    `templates` replaces this tfk's templates (the tests use it to stand for a
    newer release); the base always comes from the recorded version's templates.
    """
    old = read_record(project)
    new = make_spec(old.name, style or old.style, task or old.task)
    base = _by_path(build(old, templates_for_version(old.tfk_version)))
    theirs = _by_path(build(new, templates))
    plan = UpdatePlan(project, old, new)
    for path in sorted(base.keys() | theirs.keys()):
        _plan_file(plan, path, base.get(path), theirs.get(path))
    return plan


def _by_path(files: list[File]) -> dict[PurePosixPath, str]:
    return {file.path: file.contents for file in files}


def _plan_file(
    plan: UpdatePlan, path: PurePosixPath, base: str | None, theirs: str | None
) -> None:
    ours = _read(plan.project, path)
    if path == RECORD:  # tfk's own record: always the new spec and version
        kind, new = "updated", theirs
    elif ours is None:
        if base is not None:
            if theirs is not None and theirs != base:
                plan.kept.append((path, "you deleted it; it stays deleted"))
            return
        kind, new = "added", theirs
    elif theirs is None:
        if ours != base:
            plan.kept.append((path, "tfk dropped it; you edited it, so it stays"))
            return
        kind, new = "removed", None
    else:
        new, conflicted = merge(path, ours, base or "", theirs)
        kind = "conflict" if conflicted else "updated"
    if new != ours:
        plan.changes.append(Change(path, kind, ours, new))


def _read(project: Path, path: PurePosixPath) -> str | None:
    file = project / path
    if not file.exists():
        return None
    try:
        return file.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"cannot read {file} as UTF-8 text: {error}") from None


def merge(path: PurePosixPath, ours: str, base: str, theirs: str) -> tuple[str, bool]:
    """Three-way merge of one file: (merged text, whether it holds conflicts)."""
    if ours == theirs or theirs == base:
        return ours, False
    if ours == base:
        return theirs, False
    git = shutil.which("git")
    if git is None:
        raise UserError(
            f"merging your edits to {path} needs git (`git merge-file`); install git"
        )
    with tempfile.TemporaryDirectory(prefix="tfk-merge-") as scratch:
        names = []
        for label, text in ((YOURS, ours), ("base", base), (TFK, theirs)):
            name = Path(scratch) / label
            name.write_bytes(text.encode("utf-8"))
            names.append(str(name))
        labels = ["-L", YOURS, "-L", "base", "-L", TFK]
        result = subprocess.run(
            # the plain two-sided markers, whatever the user's merge.conflictStyle
            [git, "-c", "merge.conflictStyle=merge", "merge-file", "-p", *labels]
            + names,
            capture_output=True,
            cwd=scratch,
        )
    if result.returncode > 127:  # git: negative on error, else the conflict count
        reason = result.stderr.decode("utf-8", "replace").strip()
        raise UserError(f"git merge-file failed on {path}: {reason}")
    return result.stdout.decode("utf-8"), result.returncode > 0


def diff(plan: UpdatePlan) -> str:
    """The unified diff from the files on disk to what the update would write."""
    chunks = []
    for change in plan.changes:
        chunks.extend(
            difflib.unified_diff(
                (change.old or "").splitlines(keepends=True),
                (change.new or "").splitlines(keepends=True),
                fromfile=f"a/{change.path}" if change.old is not None else "/dev/null",
                tofile=f"b/{change.path}" if change.new is not None else "/dev/null",
            )
        )
    return "".join(line if line.endswith("\n") else line + "\n" for line in chunks)


def summary(plan: UpdatePlan, *, dry_run: bool) -> list[str]:
    """What happened (or would), one line a file, then one line overall."""
    lines = [
        f"{WOULD[change.kind] if dry_run else change.kind} {change.path}"
        for change in plan.changes
    ]
    lines += [f"kept {path}: {reason}" for path, reason in plan.kept]
    target = f"{plan.project}/ ({plan.new.style} style, tfk {plan.new.tfk_version})"
    if not plan.changes:
        lines.append(f"nothing to update: {target} is up to date")
    elif plan.conflicts:
        lines.append(
            f"{len(plan.conflicts)} conflict(s) in {target}: resolve the "
            f"<<<<<<< {YOURS} / >>>>>>> {TFK} markers in "
            + ", ".join(str(path) for path in plan.conflicts)
        )
    else:
        lines.append(f"{'would update' if dry_run else 'updated'} {target}")
    return lines
