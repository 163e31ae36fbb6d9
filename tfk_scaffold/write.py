"""Step 4 of the pipeline: put checked files on disk, all or nothing.

A new project is written into a hidden staging directory beside the target and
renamed into place, so an interrupted or failed run leaves nothing behind. With
`--force` into an existing directory every destination is checked first, then
each file is replaced atomically, and nothing that tfk did not write is ever
deleted. One run at a time writes a target: a lock file beside it
(`.NAME.tfk-lock`) is held while writing. Only the holder creates staging
directories, so a run that can take a name's lock removes that name's staging
directories: they belong to a run that was killed (`kill -9` leaves them,
nothing else does).
"""

from __future__ import annotations

import contextlib
import fcntl
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


STAGING_INFIX = ".tfk-new-"
# Variables that point git at another repository, index or object store: set in
# a git hook, or by a user, they would make `git init` / `commit` act elsewhere.
# Identity and config-file locations do not redirect and are kept.
_GIT_KEPT = frozenset(
    {
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
        "GIT_CONFIG_GLOBAL",
        "GIT_CONFIG_NOSYSTEM",
    }
)


def check_destination(target: Path, *, force: bool) -> None:
    """Fail early, before rendering, on a destination tfk must not or cannot use."""
    with _os_errors_reported(target):
        _check_destination(_followed(target), force=force)


def _followed(target: Path) -> Path:
    """Where a symlinked target points (made there if missing); else `target`."""
    return Path(os.path.realpath(target)) if target.is_symlink() else target


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
    """The files that would replace existing ones. Every destination is checked
    before anything is written: one that cannot take a file is an error naming it."""
    target = _followed(target)
    with _os_errors_reported(target):
        for file in files:
            _check_file_destination(target, file.path)
        return [file.path for file in files if (target / file.path).exists()]


def _check_file_destination(target: Path, path: PurePosixPath) -> None:
    for folder in reversed(path.parents[:-1]):  # src, then src/pkg, ...
        if (target / folder).exists() and not (target / folder).is_dir():
            raise UserError(
                f"cannot write {target / path}: {target / folder} is a file where "
                "tfk needs a directory; move it away and run again"
            )
    if (target / path).is_dir():
        raise UserError(
            f"cannot write {target / path}: a directory is in the way; move it "
            "away and run again"
        )


def write_project(
    files: list[File], target: Path, *, force: bool, git: bool
) -> WriteReport:
    reported = target
    target = _followed(target)
    with _os_errors_reported(target):
        _check_destination(target, force=force)  # before the lock: clearer errors
        with _exclusive(target) as top:
            _check_destination(target, force=force)  # again: another run may have
            overwritten = would_overwrite(files, target)  # written it meanwhile
            _remove_stale_staging(top)
            git_note = _write_project(files, target, top, git=git)
    return WriteReport(reported, [f.path for f in files], overwritten, git_note)


def _write_project(files: list[File], target: Path, top: Path, *, git: bool) -> str:
    fresh = top != target or not target.exists() or not any(target.iterdir())
    with _interrupts_raise(), _staging_directory(top) as staging:
        root = staging / target.relative_to(top)
        for file in files:
            _write_file(root / file.path, file.contents)
        git_note = _git_commit(root, target.name) if git and fresh else ""
        if fresh:
            staging.replace(top)
        else:
            _merge_into(staging, target, files)
    if git and not fresh:
        return "git: skipped, the directory already existed"
    return git_note


@contextlib.contextmanager
def _exclusive(target: Path) -> Iterator[Path]:
    """Hold the lock of `target`'s topmost missing directory (the one the final
    rename creates; the target itself once it exists) and yield that directory."""
    while True:
        top = _topmost_missing(target)
        lock = top.parent / f".{top.name}.tfk-lock"
        handle = _lock(lock, target)
        try:
            if handle is not None and _topmost_missing(target) == top:
                try:
                    yield top
                finally:
                    lock.unlink(missing_ok=True)  # before unlocking, never after
                return
        finally:
            if handle is not None:
                os.close(handle)  # releases the lock


def _lock(path: Path, target: Path) -> int | None:
    """The open, locked lock file; None if its holder removed it meanwhile (the
    lock is then on a file no one else will open: try again)."""
    handle = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(handle)
        raise UserError(
            f"another tfk is writing {target} right now; wait for it to finish, "
            "or choose another name"
        ) from None
    if path.exists() and os.path.samestat(path.stat(), os.fstat(handle)):
        return handle
    os.close(handle)
    return None


def _remove_stale_staging(top: Path) -> None:
    """Remove staging folders beside `top` whose run is gone: only the holder of a
    name's lock creates them, so one found while holding that lock is stale."""
    for staging in top.parent.glob(f".*{STAGING_INFIX}*"):
        name = staging.name[1:].partition(STAGING_INFIX)[0]
        if name == top.name:  # ours: this run holds the lock
            shutil.rmtree(staging, ignore_errors=True)
            continue
        with contextlib.suppress(UserError), _exclusive(top.parent / name):
            shutil.rmtree(staging, ignore_errors=True)  # its run is gone


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


def _default_mode(full: int = 0o666) -> int:
    """`full` (0o666 for a file, 0o777 for a directory) less the umask."""
    umask = os.umask(0)
    os.umask(umask)
    return full & ~umask


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
def _staging_directory(top: Path) -> Iterator[Path]:
    prefix = f".{top.name}{STAGING_INFIX}"
    staging = Path(tempfile.mkdtemp(prefix=prefix, dir=top.parent))
    try:
        staging.chmod(
            _default_mode(0o777)
        )  # it becomes the project: not mkdtemp's 0700
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
    directory = directory.resolve()  # git runs inside it: a relative path would nest
    environment = _git_environment()
    identity = (
        []
        if _git_has_identity(directory, environment)
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
    # Explicit paths as well as a clean environment: git sees this project only.
    repository = [f"--git-dir={directory / '.git'}", f"--work-tree={directory}"]
    for arguments in (
        ["init", "-q", str(directory)],
        [*repository, "add", "-A"],
        [*repository, "commit", "-q", "--no-verify", "-m", f"Generate {name} with tfk"],
    ):
        result = subprocess.run(
            [*base, *arguments],
            cwd=directory,
            env=environment,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            shutil.rmtree(directory / ".git", ignore_errors=True)
            reason = result.stderr.strip()
            step = next(word for word in arguments if not word.startswith("-"))
            return f"git: `git {step}` failed, no repository created: {reason}"
    return "git: initialised with a first commit"


def _git_environment() -> dict[str, str]:
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("GIT_") or key in _GIT_KEPT
    }


def _git_has_identity(directory: Path, environment: dict[str, str]) -> bool:
    result = subprocess.run(
        ["git", "config", "user.email"],
        cwd=directory,
        env=environment,
        capture_output=True,
        text=True,
    )
    return result.returncode == 0 and bool(result.stdout.strip())
