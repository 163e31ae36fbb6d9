"""Step 4 of the pipeline: put checked files on disk, all or nothing.

A new project is written into a hidden temporary directory beside the target and
renamed into place, so an interrupted or failed run leaves nothing behind. With
`--force` into an existing directory each file is replaced atomically, and
nothing that tfk did not write is ever deleted.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from tfk_scaffold.errors import UserError
from tfk_scaffold.files import File


@dataclass
class WriteReport:
    target: Path
    written: list[PurePosixPath]
    overwritten: list[PurePosixPath] = field(default_factory=list)
    git_note: str = ""


def check_destination(target: Path, *, force: bool) -> None:
    """Fail early, before rendering, on a destination tfk must not or cannot use."""
    with _os_errors_reported(target):
        _check_destination(target, force=force)


def _check_destination(target: Path, *, force: bool) -> None:
    if target.exists() and not target.is_dir():
        raise UserError(
            f"{target} exists and is a file; choose another name or --output-dir"
        )
    if target.is_dir() and any(target.iterdir()) and not force:
        raise UserError(
            f"{target} exists and is not empty; choose another name, or pass "
            "--force to "
            "write into it (tfk lists the files it replaces and deletes none)"
        )
    parent = _existing_ancestor(target)
    if not parent.is_dir():
        raise UserError(
            f"cannot create {target}: {parent} is a file, not a directory; "
            "choose another --output-dir"
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(
            f"cannot write into {parent}: permission denied; choose --output-dir"
        )


@contextlib.contextmanager
def _os_errors_reported(path: Path) -> Iterator[None]:
    """A full disk or a too-long path is the user's to fix, not a tfk bug."""
    try:
        yield
    except OSError as error:
        reason = error.strerror or str(error)
        raise UserError(f"cannot write {path}: {reason}") from None


def would_overwrite(files: list[File], target: Path) -> list[PurePosixPath]:
    return [file.path for file in files if (target / file.path).exists()]


def write_project(
    files: list[File], target: Path, *, force: bool, git: bool
) -> WriteReport:
    check_destination(target, force=force)
    with _os_errors_reported(target):
        return _write_project(files, target, git=git)


def _write_project(files: list[File], target: Path, *, git: bool) -> WriteReport:
    overwritten = would_overwrite(files, target)
    fresh = not target.exists() or not any(target.iterdir())
    # The one rename creates `top`, so missing parents of the target appear with it.
    top = _topmost_missing(target) if fresh else target
    with _interrupts_raise(), _staging_directory(top.parent, target.name) as staging:
        root = staging / target.relative_to(top)
        for file in files:
            _write_file(root / file.path, file.contents)
        git_note = _git_commit(root, target.name) if git and fresh else ""
        if fresh:
            staging.replace(top)
        else:
            _merge_into(staging, target, files)
    if git and not fresh:
        git_note = "git: skipped, the directory already existed"
    return WriteReport(target, [f.path for f in files], overwritten, git_note)


def update_in_place(project: Path, changes: dict[PurePosixPath, str | None]) -> None:
    """Apply `tfk update`'s changes: each file replaced atomically (a temporary file
    beside it, then one rename), `None` removes the file. Nothing else is touched."""
    with _interrupts_raise(), _os_errors_reported(project):
        for path, contents in changes.items():
            if contents is None:
                (project / path).unlink(missing_ok=True)
            else:
                replace_file(project / path, contents)


def replace_file(path: Path, contents: str) -> None:
    """Write `path` whole or not at all, keeping the mode of the file it replaces."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else _default_mode()
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.tfk-", dir=path.parent)
    temporary = Path(name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(contents)
        temporary.chmod(mode)
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _default_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _topmost_missing(path: Path) -> Path:
    """`path` if it exists, else its highest ancestor that does not exist yet."""
    while not path.parent.exists() and path.parent != path.parent.parent:
        path = path.parent
    return path


def _existing_ancestor(path: Path) -> Path:
    path = path.absolute()
    while not path.exists():
        path = path.parent
    return path


def _write_file(path: Path, contents: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(contents, encoding="utf-8")


def _merge_into(staging: Path, target: Path, files: list[File]) -> None:
    for file in files:
        destination = target / file.path
        destination.parent.mkdir(parents=True, exist_ok=True)
        (staging / file.path).replace(destination)


@contextlib.contextmanager
def _staging_directory(parent: Path, name: str) -> Iterator[Path]:
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.tfk-", dir=parent))
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@contextlib.contextmanager
def _interrupts_raise() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt so the staging directory is cleaned up."""

    def raise_interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, raise_interrupt)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _git_commit(directory: Path, name: str) -> str:
    if shutil.which("git") is None:
        return "git: not found, skipped `git init` (pass --no-git to silence this)"
    identity = (
        []
        if _git_has_identity()
        else ["-c", "user.name=tfk", "-c", "user.email=tfk@localhost"]
    )
    base = [
        "git",
        "-c",
        "init.defaultBranch=main",
        "-c",
        "commit.gpgsign=false",
        *identity,
    ]
    for arguments in (
        ["init", "-q"],
        ["add", "-A"],
        ["commit", "-q", "-m", f"Generate {name} with tfk"],
    ):
        result = subprocess.run(
            [*base, *arguments], cwd=directory, capture_output=True, text=True
        )
        if result.returncode != 0:
            shutil.rmtree(directory / ".git", ignore_errors=True)
            reason = result.stderr.strip()
            return f"git: `git {arguments[0]}` failed, no repository created: {reason}"
    return "git: initialised with a first commit"


def _git_has_identity() -> bool:
    result = subprocess.run(
        ["git", "config", "user.email"], capture_output=True, text=True
    )
    return result.returncode == 0 and bool(result.stdout.strip())
