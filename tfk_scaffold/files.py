"""The value every pipeline step passes on: a file that exists only in memory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath


@dataclass(frozen=True)
class File:
    path: PurePosixPath
    contents: str
    # Where a team preset's file came from (preset.py); None for tfk's own.
    preset: str | None = None

    @property
    def is_python(self) -> bool:
        return self.path.suffix == ".py"
