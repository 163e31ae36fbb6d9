from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tfk_scaffold.spec import STYLES

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(params=list(STYLES))
def style(request: pytest.FixtureRequest) -> str:
    return request.param


def python() -> str:
    return sys.executable
