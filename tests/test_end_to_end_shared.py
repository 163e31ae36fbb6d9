"""What every style shares, tested once: a tabular keras project with every
part runs its whole suite, slow tests included (kill -9 resume, serving under
abuse, two workers on 127.0.0.1, Ray, tune killed mid-study), apart from
`end_to_end.SHARED_SKIPS`. A module of its own, so that pytest-xdist runs it
beside the task modules that train every style's default config."""

import pytest
from end_to_end import SHARED_SKIPS, run_pytest

from tfk_scaffold.generate import new_project
from tfk_scaffold.spec import PARTS, make_spec

pytestmark = pytest.mark.slow


def test_the_shared_code_passes_its_whole_suite(tmp_path):
    new_project(
        make_spec("shared", "keras", "tabular", PARTS), tmp_path, force=False, git=False
    )
    suite = run_pytest(tmp_path / "shared", *SHARED_SKIPS, timeout=2400)
    assert " passed" in suite.stdout  # and exit 0: `run` checks it
