"""The benchmark's own arithmetic and template writer; no timing is asserted."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location(
        "bench_run", ROOT / "benchmarks/run.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


def test_flops_count_forward_and_both_gradients(bench) -> None:
    macs = 100 * 512 + 512 * 512 + 512 * 2
    input_gradient_macs = 512 * 512 + 512 * 2
    expected = 4 * macs + 2 * input_gradient_macs
    assert bench.train_flops_per_example(100, [512, 512], 2) == expected


def test_stat_and_rotate(bench) -> None:
    assert bench.stat([3.0, 1.0, 2.0]) == {
        "median": 2.0,
        "min": 1.0,
        "max": 3.0,
        "n": 3,
    }
    assert bench.rotate(["a", "b", "c"], 4) == ["b", "c", "a"]


def test_templates_mirror_the_reference_tree(bench, tmp_path: Path) -> None:
    reference = tmp_path / "demo"
    (reference / "src" / "demo").mkdir(parents=True)
    (reference / "src" / "demo" / "cli.py").write_text("import demo\n")
    (reference / "ci.yml").write_text("python: ${{ matrix.python }}\n")
    cc_root, copier_root = bench.make_templates(tmp_path, reference)
    cc_cli = cc_root / "{{cookiecutter.project_slug}}/src/{{cookiecutter.project_slug}}"
    assert (cc_cli / "cli.py").read_text() == (
        "{% raw %}import {% endraw %}{{ cookiecutter.project_slug }}{% raw %}\n"
        "{% endraw %}"
    )
    assert (copier_root / "src/{{project_slug}}/cli.py").is_file()
    assert (
        "{% raw %}python: ${{ matrix.python }}" in (copier_root / "ci.yml").read_text()
    )
