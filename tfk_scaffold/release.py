"""Which template set a tfk is: its version and a hash of its templates.

Every build of tfk before 0.2.0 called itself 0.1.0 while its templates kept
changing, so a version alone never said what a project was rendered from. Now
`.tfk.toml` and `tfk --version` carry the hash of the template tree beside the
version, `releases.toml` records each release's hash (the tool's tests fail when
templates change without a new record: run `python scripts/release.py VERSION`),
and `released/<hash>.tar.xz` keeps the templates of earlier releases, for
projects whose git history does not hold their base (see `update.py`).
"""

from __future__ import annotations

import hashlib
import tarfile
import tempfile
import tomllib
from functools import cache
from pathlib import Path

from tfk_scaffold import __version__

HERE = Path(__file__).resolve().parent
RELEASES = HERE / "releases.toml"
RELEASED = HERE / "released"
HASH_LENGTH = 16
_SCRATCH: list[tempfile.TemporaryDirectory[str]] = []


def templates_hash(root: Path) -> str:
    """A short hash of every template file under `root`: names and bytes."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:HASH_LENGTH]


@cache
def shipped_hash() -> str:
    """The hash of the templates this tfk renders with."""
    from tfk_scaffold.render import templates_root

    return templates_hash(templates_root())


def recorded_releases() -> dict[str, str]:
    """Version -> templates hash of every release, from `releases.toml`."""
    data = tomllib.loads(RELEASES.read_text(encoding="utf-8"))
    return dict(data["releases"])


def describe() -> str:
    """What `tfk --version` prints: the version and the exact template set."""
    current = shipped_hash()
    note = ""
    if recorded_releases().get(__version__) != current:
        note = f", not the released {__version__} templates"
    return f"tfk {__version__} (templates {current}{note})"


def released_templates(digest: str) -> Path | None:
    """The template tree whose hash is `digest`, if this tfk has it."""
    from tfk_scaffold.render import templates_root

    if digest == shipped_hash():
        return templates_root()
    archive = RELEASED / f"{digest}.tar.xz"
    return _unpacked(archive) if archive.is_file() else None


@cache
def _unpacked(archive: Path) -> Path:
    """An archived template tree, unpacked once per process into a temporary
    directory that is removed when the process exits."""
    scratch = tempfile.TemporaryDirectory(prefix="tfk-templates-")
    _SCRATCH.append(scratch)
    with tarfile.open(archive) as tar:
        tar.extractall(scratch.name, filter="data")
    return Path(scratch.name) / "templates"
