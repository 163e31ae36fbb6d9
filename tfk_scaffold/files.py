"""The value every pipeline step passes on: a file that exists only in memory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath


@dataclass(frozen=True)
class File:
    path: PurePosixPath
    contents: str

    @property
    def is_python(self) -> bool:
        return self.path.suffix == ".py"
