"""Record a tfk release: its version and the hash of its templates.

    python scripts/release.py VERSION

Run it after the last template change of a release (the tool's tests fail until
it has run). It sets `__version__`, records VERSION and the templates' hash in
`tfk_scaffold/releases.toml`, and, when VERSION is new, keeps the previous
release's templates as `tfk_scaffold/released/<hash>.tar.xz` (~50 KB), taken
from this checkout's git history: projects whose history lacks their base
(made with --no-git, or squashed) still update from that release. Re-running it
for the current, not yet published version just records the new hash.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from tfk_scaffold import __version__
from tfk_scaffold.record import VERSION_PATTERN
from tfk_scaffold.release import (
    RELEASED,
    RELEASES,
    recorded_releases,
    templates_hash,
)

ROOT = Path(__file__).resolve().parents[1]
INIT = ROOT / "tfk_scaffold/__init__.py"


def main(version: str) -> int:
    if not VERSION_PATTERN.fullmatch(version):
        print(f"error: {version!r} is not a version such as 0.3.0", file=sys.stderr)
        return 2
    releases = recorded_releases()
    if version in releases and version != __version__:
        print(f"error: {version} was released already; pick a new one", file=sys.stderr)
        return 1
    digest = templates_hash(ROOT / "templates")
    if version != __version__:
        keep_previous(releases.get(__version__))
        INIT.write_text(
            re.sub(
                r'__version__ = ".*"', f'__version__ = "{version}"', INIT.read_text()
            )
        )
    releases[version] = digest
    lines = [f'"{name}" = "{value}"' for name, value in releases.items()]
    RELEASES.write_text(
        "# Written by scripts/release.py: each tfk release and its templates' hash.\n"
        "[releases]\n" + "\n".join(lines) + "\n"
    )
    print(f"tfk {version}: templates {digest}")
    return 0


def keep_previous(digest: str | None) -> None:
    """Archive the templates whose hash is `digest` from the git history."""
    if digest is None or (RELEASED / f"{digest}.tar.xz").exists():
        return
    commits = git("rev-list", "HEAD", "--", "templates").decode().split()
    for commit in commits:
        archive = git("archive", "--format=tar", commit, "templates")
        with tempfile.TemporaryDirectory() as scratch:
            with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
                tar.extractall(scratch, filter="data")
            if templates_hash(Path(scratch) / "templates") != digest:
                continue
        with (
            tarfile.open(fileobj=io.BytesIO(archive)) as source,
            tarfile.open(RELEASED / f"{digest}.tar.xz", "w:xz") as kept,
        ):
            for member in source.getmembers():
                kept.addfile(member, source.extractfile(member))
        print(f"kept the {__version__} templates as released/{digest}.tar.xz")
        return
    raise SystemExit(f"error: no commit holds the {__version__} templates ({digest})")


def git(*arguments: str) -> bytes:
    return subprocess.run(
        ["git", *arguments], cwd=ROOT, check=True, capture_output=True
    ).stdout


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        raise SystemExit(2)
    raise SystemExit(main(sys.argv[1]))
