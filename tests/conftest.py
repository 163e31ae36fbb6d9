from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tfk_scaffold.spec import STYLES

ROOT = Path(__file__).resolve().parents[1]
# The xdist workers share the CPUs, each training generated projects in
# subprocesses (which inherit this): one intra-op thread per TensorFlow process
# keeps them from oversubscribing the CPUs; two image trainings at once on 2
# CPUs finished in 44 s instead of 52 s.
if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1:
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: half again as many workers as CPUs. Much of a worker's time
    is spent waiting (TensorFlow starting in a subprocess, servers, kill -9
    timing): with one worker per CPU a quarter of CI's 2 CPUs sat idle. Two
    per CPU was slower again (over 29 min against 22.6): the shared suite, one
    long run of tests in order, trained under four-way contention and ended
    minutes after everything else."""
    return max(2, (os.cpu_count() or 1) * 3 // 2)


@pytest.fixture(params=list(STYLES))
def style(request: pytest.FixtureRequest) -> str:
    return request.param


def python() -> str:
    return sys.executable


# The modules that train generated projects, longest first (as measured in CI,
# where three workers share 2 CPUs): pytest-xdist hands out whole modules
# (--dist loadfile) in collection order (--no-loadscope-reorder: by default it
# sorts them by their number of tests, which started these one-test modules
# last and left them running minutes after the rest), so the long ones start
# at once and the short tool tests fill in around them.
LONGEST_FIRST = (
    "test_end_to_end_cluster.py",  # ~490 s
    "test_end_to_end_image.py",  # ~360 s
    "test_real_images.py",  # ~250 s
    "test_end_to_end_tabular.py",  # ~240 s
    "test_real_data.py",  # ~190 s
    "test_end_to_end_sequence.py",  # ~185 s
    "test_end_to_end_shared.py",  # ~165 s
    "test_real_sequences.py",  # ~135 s
    "test_end_to_end_parts.py",  # ~105 s
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return (
            LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)
        )

    items.sort(key=rank)  # stable: each module's tests keep their order
