"""The benchmark's own arithmetic and template writer; no timing is asserted."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(ROOT / "benchmarks"))  # as `python benchmarks/run.py` has
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


def test_percentile_is_nearest_rank(bench) -> None:
    values = [float(v) for v in range(1, 101)]
    assert bench.percentile(values, 50) == 50.0
    assert bench.percentile(values, 99) == 99.0
    assert bench.percentile([3.0, 1.0, 2.0], 99) == 3.0
    assert bench.percentile([5.0], 1) == 5.0


def test_serving_summary_and_targets(bench) -> None:
    def run(count: int, millis: float, **extra) -> dict:
        return {
            "timed": count,
            "p50_s": millis / 2e3,
            "p99_s": millis / 1e3,
            "errors": 0,
            "sent": count,
            "loadavg": [1.0, 2.0],
            **extra,
        }

    serve = {
        "date": "today",
        "connections": 4,
        "warmup_s": 1.0,
        "duration_s": 5.0,
        "runs": {
            "processes": [run(10_000, 2.0, server_cpu_s=4.0)],
            "threads": [run(5_000, 4.0, server_cpu_s=2.0)],
            "direct": [run(20_000, 0.1)],
        },
    }
    summary = bench.summarize_serving(serve)
    assert summary["processes"]["rate"]["median"] == 2_000
    assert summary["processes"]["p99_ms"]["median"] == 2.0
    assert summary["processes"]["server_cpu_ms"]["median"] == 0.4
    assert "server_cpu_ms" not in summary["direct"]
    targets: list = []
    text = "\n".join(bench.render_serve(serve, targets))
    assert "More requests/s with client processes" in text
    assert [ok for _, _, ok in targets] == [True, True]


def test_every_style_s_train_takes_the_epoch_report_the_worker_times_with(style):
    """worker.py's `style` mode calls train.train(config, on_epoch) on projects
    without any part: the hook must stay in the core."""
    from tfk_scaffold.render import render
    from tfk_scaffold.spec import make_spec

    files = {str(file.path): file.contents for file in render(make_spec("demo", style))}
    assert "train.train(config, lambda" in (ROOT / "benchmarks/worker.py").read_text()
    assert (
        "def train(config: Config, on_epoch: EpochReport" in files["src/demo/train.py"]
    )


def test_a_part_measured_alone_says_when_and_on_what_under_its_heading(bench):
    section = ["### Training loops", "", "| loop | steady samples/s |"]
    machine = {
        "date": "2026-12-04 23:28 UTC",
        "nproc": 2,
        "cpu": "AMD EPYC",
        "tensorflow": "2.21.0",
        "loadavg_start": 0.8,
    }
    alone = bench.measured_apart(section, {"machine": machine})
    assert alone[:2] == section[:2] and alone[-1] == section[-1]
    assert alone[2] == (
        "Measured apart (`--only`), 2026-12-04 23:28 UTC: 2 x AMD EPYC, "
        "tensorflow-cpu 2.21.0; load average at start 0.80."
    )
    assert bench.measured_apart(section, {"steady": {}}) == section
