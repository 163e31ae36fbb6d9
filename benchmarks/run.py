"""tfk benchmarks: the tool against cookiecutter and copier, and the generated
training loops against plain `keras.Model.fit`.

    python benchmarks/run.py            # everything, ~4-6 min on 2 cores
    python benchmarks/run.py --quick    # fewer runs and a smaller wide config, ~2 min
    python benchmarks/run.py --only tool        # or: train
    python benchmarks/run.py --save     # also rewrite the table in benchmarks/README.md

Run it with the Python that has tfk and TensorFlow installed (`pip install -e
'.[test]'`). cookiecutter and copier go into benchmarks/.venv, created on first
use, never into tfk's own dependencies. Every measurement runs in a fresh
subprocess; variants are interleaved round by round so that ratios compare runs
made side by side under the same machine load. Nothing here asserts a time: the
targets are printed as met or not met.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENV = HERE / ".venv"
WORKER = HERE / "worker.py"
README = HERE / "README.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"
STYLES = ("keras", "hybrid", "tf")
LOOPS = ("plain", *STYLES)
# --whatif: a style trained with a benchmark-side change (see worker.WHATIFS),
# to measure what a recommended template change would bring.
WHATIF_LOOPS = ("keras+no-determinism", "keras+vectorized-data", "tf+vectorized-data")


@dataclass(frozen=True)
class Plan:
    """How many runs of what: the full plan, or a quick one."""

    help_runs: int
    new_runs: int
    small_rounds: int
    wide_rounds: int
    small: tuple[str, ...]
    wide: tuple[str, ...]


FULL = Plan(
    help_runs=7,
    new_runs=5,
    small_rounds=2,
    wide_rounds=2,
    # The default config exactly as generated (10 epochs, batch 64, [64, 64]).
    small=(),
    wide=(
        "data.num_samples=200000",
        "train.batch_size=256",
        "model.hidden_units=[512, 512]",
        "train.epochs=3",
    ),
)
QUICK = Plan(
    help_runs=3,
    new_runs=3,
    small_rounds=1,
    wide_rounds=1,
    small=("train.epochs=4",),
    wide=(
        "data.num_samples=60000",
        "train.batch_size=256",
        "model.hidden_units=[512, 512]",
        "train.epochs=3",
    ),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter runs")
    parser.add_argument("--only", choices=["tool", "train"], help="one part only")
    parser.add_argument(
        "--whatif",
        action="store_true",
        help="also train " + ", ".join(WHATIF_LOOPS) + " (~3 min more)",
    )
    parser.add_argument(
        "--save",
        action="store_true",
        help="write the table into benchmarks/README.md and the raw numbers "
        "into benchmarks/latest.json",
    )
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    started = time.perf_counter()
    results: dict = {"machine": machine(), "plan": "quick" if args.quick else "full"}
    with tempfile.TemporaryDirectory(prefix="tfk-bench-") as tmp:
        work = Path(tmp)
        if args.only in (None, "tool"):
            results["tool"] = bench_tool(work, plan)
        if args.only in (None, "train"):
            loops = LOOPS + (WHATIF_LOOPS if args.whatif else ())
            results["train"] = bench_train(work, plan, loops)
    results["total_s"] = time.perf_counter() - started
    report = render(results)
    print(report)
    if args.save:
        (HERE / "latest.json").write_text(json.dumps(results, indent=1) + "\n")
        save_readme(report)
        print(f"wrote {README.relative_to(ROOT)} and benchmarks/latest.json")


# --- Measuring ------------------------------------------------------------------


def machine() -> dict:
    cpu = "unknown"
    with open("/proc/cpuinfo") as file:  # noqa: PTH123  (Linux only, read once)
        for line in file:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    tf_version = subprocess.run(
        [
            sys.executable,
            "-c",
            "import importlib.metadata as m;"
            "print(m.version('tensorflow-cpu'), m.version('keras'))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "tensorflow": tf_version[0],
        "keras": tf_version[1],
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "loadavg_start": os.getloadavg()[0],
    }


def timed(command: list[str], cwd: Path | None = None, env: dict | None = None):
    started = time.perf_counter()
    subprocess.run(
        command,
        cwd=cwd,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    return time.perf_counter() - started


def run_measured(command: list[str], cwd: Path, timeout: float) -> dict:
    """Run a worker; return its JSON plus its own peak RSS (from wait4)."""
    log = cwd / "worker.log"
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=cwd, stdout=output, stderr=output)
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            process.kill()
            _, status, usage = os.wait4(process.pid, 0)
            break
        time.sleep(0.02)
    process.returncode = os.waitstatus_to_exitcode(status)
    out = cwd / "result.json"
    if process.returncode != 0 or not out.is_file():
        tail = log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{' '.join(command)} failed ({status}):\n{tail}")
    result = json.loads(out.read_text())
    out.unlink()
    result["peak_rss_mib"] = usage.ru_maxrss / 1024  # KiB on Linux
    return result


def ensure_venv() -> dict[str, str]:
    """benchmarks/.venv with cookiecutter and copier; created on first use."""
    bin_dir = VENV / "bin"
    if not ((bin_dir / "cookiecutter").exists() and (bin_dir / "copier").exists()):
        print("creating benchmarks/.venv with cookiecutter and copier ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [str(bin_dir / "pip"), "install", "-q", "cookiecutter", "copier"],
            check=True,
        )
    versions = subprocess.run(
        [
            str(bin_dir / "python"),
            "-c",
            "import importlib.metadata as m;"
            "print(m.version('cookiecutter'), m.version('copier'))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return {"cookiecutter": versions[0], "copier": versions[1]}


def tfk_command() -> str:
    beside = Path(sys.executable).parent / "tfk"
    return str(beside) if beside.exists() else (shutil.which("tfk") or "tfk")


def tree_size(root: Path) -> tuple[int, int]:
    files = [p for p in root.rglob("*") if p.is_file() and ".git" not in p.parts]
    lines = sum(len(p.read_bytes().splitlines()) for p in files)
    return len(files), lines


def make_templates(work: Path, reference: Path) -> tuple[Path, Path]:
    """A cookiecutter and a copier template that render the same tree as tfk:
    every file of a generated tfk project, with its package name a variable."""
    cc_root, copier_root = work / "cc-template", work / "copier-template"
    (cc_root / "{{cookiecutter.project_slug}}").mkdir(parents=True)
    copier_root.mkdir()
    (cc_root / "cookiecutter.json").write_text('{"project_slug": "demo"}\n')
    (copier_root / "copier.yml").write_text(
        "project_slug:\n  type: str\n  default: demo\n"
        '_templates_suffix: ""\n'  # render every file, as cookiecutter does
    )
    for path in reference.rglob("*"):
        if not path.is_file():
            continue
        relative = path.relative_to(reference).as_posix()
        text = path.read_text()
        for root, variable in (
            (cc_root / "{{cookiecutter.project_slug}}", "cookiecutter.project_slug"),
            (copier_root, "project_slug"),
        ):
            name = re.sub(r"\bdemo\b", "{{" + variable + "}}", relative)
            # Raw blocks keep literal braces (e.g. CI's ${{ ... }}) while the
            # package name stays a real substitution.
            body = (
                "{% raw %}"
                + re.sub(
                    r"\bdemo\b", "{% endraw %}{{ " + variable + " }}{% raw %}", text
                )
                + "{% endraw %}"
            )
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(body)
    return cc_root, copier_root


def bench_tool(work: Path, plan: Plan) -> dict:
    versions = ensure_venv()
    tfk, bin_dir = tfk_command(), VENV / "bin"
    reference = work / "reference"
    subprocess.run(
        [tfk, "new", "demo", "--style", "hybrid", "--no-git", "-o", str(reference)],
        check=True,
        capture_output=True,
    )
    files, lines = tree_size(reference / "demo")
    cc_template, copier_template = make_templates(work, reference / "demo")
    cc_config = work / "cookiecutter.yaml"
    cc_config.write_text(
        f"cookiecutters_dir: {work / 'cc-cache'}\nreplay_dir: {work / 'cc-replay'}\n"
    )
    env = {**os.environ, "COOKIECUTTER_CONFIG": str(cc_config)}
    helps = {
        "tfk": [tfk, "--help"],
        "cookiecutter": [str(bin_dir / "cookiecutter"), "--help"],
        "copier": [str(bin_dir / "copier"), "--help"],
    }

    def new_commands(out: Path) -> dict[str, list[str]]:
        return {
            "tfk": [
                tfk,
                "new",
                "demo",
                "--style",
                "hybrid",
                "--no-git",
                "-o",
                str(out / "tfk"),
            ],
            "cookiecutter": [
                str(bin_dir / "cookiecutter"),
                "--no-input",
                str(cc_template),
                "-o",
                str(out / "cookiecutter"),
            ],
            "copier": [
                str(bin_dir / "copier"),
                "copy",
                "--defaults",
                "--quiet",
                str(copier_template),
                str(out / "copier" / "demo"),
            ],
        }

    load = [os.getloadavg()[0]]
    help_times = interleave(helps, plan.help_runs, lambda cmd, _: timed(cmd, env=env))
    counter = iter(range(10**6))

    def run_new(command: list[str], _name: str) -> float:
        return timed(command, env=env)

    new_times: dict[str, list[float]] = {name: [] for name in helps}
    sizes = {}
    for round_number in range(plan.new_runs + 1):  # round 0 warms the caches
        out = work / f"new-{next(counter)}"
        commands = new_commands(out)
        for name in rotate(list(commands), round_number):
            seconds = run_new(commands[name], name)
            if round_number:
                new_times[name].append(seconds)
            else:
                sizes[name] = tree_size(next((out / name).iterdir()))
        shutil.rmtree(out)
    load.append(os.getloadavg()[0])
    return {
        "versions": versions,
        "reference_tree": {"files": files, "lines": lines},
        "generated_trees": sizes,
        "help_s": help_times,
        "new_s": new_times,
        "loadavg": load,
    }


def rotate(items: list, by: int) -> list:
    by %= len(items)
    return items[by:] + items[:by]


def interleave(commands: dict, runs: int, measure) -> dict[str, list[float]]:
    """Round-robin: each round runs every command once, order rotated by round."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for round_number in range(runs + 1):  # round 0 warms the caches, untimed
        for name in rotate(list(commands), round_number):
            seconds = measure(commands[name], name)
            if round_number:
                times[name].append(seconds)
    return times


def bench_train(work: Path, plan: Plan, loops: tuple[str, ...]) -> dict:
    tfk = tfk_command()
    projects = work / "projects"
    for style in STYLES:
        subprocess.run(
            [
                tfk,
                "new",
                f"bench{style}",
                "--style",
                style,
                "--no-git",
                "-o",
                str(projects),
            ],
            check=True,
            capture_output=True,
        )
    results: dict = {"configs": {"small": list(plan.small), "wide": list(plan.wide)}}
    for size, overrides, rounds in (
        ("small", plan.small, plan.small_rounds),
        ("wide", plan.wide, plan.wide_rounds),
    ):
        runs: dict[str, list[dict]] = {loop: [] for loop in loops}
        runs["data"], runs["matmul"] = [], []
        load = [os.getloadavg()[0]]
        for round_number in range(rounds):
            for loop in rotate(list(loops), round_number):
                print(f"  {size} round {round_number + 1}/{rounds}: {loop}", flush=True)
                runs[loop].append(run_loop(work, projects, loop, overrides))
            runs["data"].append(run_loop(work, projects, "data", overrides))
            if size == "wide":
                runs["matmul"].append(run_loop(work, projects, "matmul", ()))
        load.append(os.getloadavg()[0])
        results[size] = {"runs": runs, "loadavg": load}
    return results


def run_loop(work: Path, projects: Path, loop: str, overrides) -> dict:
    base, *whatifs = loop.split("+")
    style = base if base in STYLES else "keras"  # plain and data use keras's data.py
    package = f"bench{style}"
    command = [sys.executable, str(WORKER)]
    if base in STYLES:
        command += ["style", "--style", style]
    else:
        command += [base]
    for whatif in whatifs:
        command += ["--whatif", whatif]
    if base == "tf":
        command.append("--no-keras")
    if loop == "matmul":
        command += ["--repeats", "10"]
    command += ["--project", str(projects / package), "--package", package]
    for override in overrides:
        command += ["--set", override]
    cwd = Path(tempfile.mkdtemp(prefix=f"{base}-", dir=work))
    return run_measured([*command, "--out", str(cwd / "result.json")], cwd, 300)


# --- Reporting ------------------------------------------------------------------


def stat(values: list[float]) -> dict:
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "n": len(values),
    }


def fmt(s: dict, digits: int = 2, scale: float = 1.0) -> str:
    median, low, high = (s[k] * scale for k in ("median", "min", "max"))
    return f"{median:,.{digits}f} ({low:,.{digits}f}-{high:,.{digits}f}, n={s['n']})"


def train_flops_per_example(features: int, hidden: list[int], classes: int) -> int:
    """Matmul FLOPs of one training example: forward, weight gradients, and
    input gradients of every layer but the first (elementwise ops not counted)."""
    widths = [features, *hidden, classes]
    macs = [a * b for a, b in zip(widths, widths[1:], strict=False)]
    return 2 * sum(macs) * 2 + 2 * sum(macs[1:])


def summarize_training(results: dict) -> dict:
    """Per config and loop: steady samples/s (epochs after the first), epoch wall
    samples/s, time to first step, peak RSS; ratios and peak fractions."""
    out: dict = {}
    peaks = [
        run["flops_per_call"] / s
        for run in results.get("wide", {}).get("runs", {}).get("matmul", [])
        for s in run["seconds"]
    ]
    out["matmul_peak"] = stat(peaks) if peaks else None
    # The same peak per second of this process's CPU time: what a loop can reach
    # per CPU second however many of the cores other processes are using.
    cpu_peaks = [
        run["flops_per_call"] / s
        for run in results.get("wide", {}).get("runs", {}).get("matmul", [])
        for s in run["cpu_seconds"]
    ]
    out["matmul_cpu_peak"] = stat(cpu_peaks) if cpu_peaks else None
    for size in ("small", "wide"):
        if size not in results:
            continue
        runs = results[size]["runs"]
        table = {}
        loops = [loop for loop in runs if loop not in ("data", "matmul")]
        for loop in loops:
            steady, wall, first, first_process, rss, acc = [], [], [], [], [], []
            cpu = []
            for run in runs[loop]:
                n = run["train_examples"]
                steady += [n / s for s in run["train_phase_s"][1:]]
                cpu += [1e6 * s / n for s in run["train_phase_cpu_s"][1:]]
                wall += [n / s for s in run["epoch_wall_s"][1:]]
                first.append(run["first_step_s"])
                first_process.append(run["first_step_since_process_s"])
                rss.append(run["peak_rss_mib"])
                acc.append(run["metrics"].get("val_accuracy", float("nan")))
            table[loop] = {
                "steady": stat(steady),
                "cpu_us": stat(cpu),
                "wall": stat(wall) if wall else None,
                "first_step": stat(first),
                "first_step_process": stat(first_process),
                "rss": stat(rss),
                "val_accuracy": statistics.median(acc),
            }
        plain = table["plain"]["steady"]["median"]
        best = max(table[loop]["steady"]["median"] for loop in LOOPS)
        best_cpu = min(table[loop]["cpu_us"]["median"] for loop in LOOPS)
        for loop in loops:
            row = table[loop]
            row["vs_plain"] = row["steady"]["median"] / plain
            row["best_vs_plain"] = (
                row["steady"]["max"] / table["plain"]["steady"]["max"]
            )
            row["cpu_vs_plain"] = (
                table["plain"]["cpu_us"]["median"] / row["cpu_us"]["median"]
            )
            row["vs_best"] = row["steady"]["median"] / best
            row["cpu_vs_best"] = best_cpu / row["cpu_us"]["median"]
            if row["wall"]:
                row["wall_vs_plain"] = (
                    row["wall"]["median"] / table["plain"]["wall"]["median"]
                )
        data = {
            key[: -len("_epoch_s")]: stat(
                [
                    run["train_examples"] / s
                    for run in runs["data"]
                    for s in run[key][1:]
                ]
            )
            for key in runs["data"][0]
            if key.endswith("_epoch_s")
        }
        fastest = max(table[loop]["steady"]["median"] for loop in STYLES)
        out[size] = {
            "table": table,
            "data": data,
            "data_vs_training": data["generated_python"]["median"] / fastest,
            "loadavg": results[size]["loadavg"],
        }
        if size == "wide" and out["matmul_peak"]:
            hidden = [512, 512]
            for item in results["configs"]["wide"]:
                if item.startswith("model.hidden_units="):
                    hidden = json.loads(item.split("=", 1)[1])
            flops = train_flops_per_example(100, hidden, 2)
            out[size]["flops_per_example"] = flops
            for loop in loops:
                row = table[loop]
                row["peak_fraction"] = (
                    row["steady"]["median"] * flops / out["matmul_peak"]["max"]
                )
                row["cpu_peak_fraction"] = (
                    flops / (row["cpu_us"]["median"] * 1e-6)
                ) / out["matmul_cpu_peak"]["max"]
    return out


def render(results: dict) -> str:
    m = results["machine"]
    lines = [
        f"Measured {m['date']} ({results['plan']} plan, {results['total_s']:.0f} s): "
        f"{m['nproc']} x {m['cpu']}, Python {m['python']}, tensorflow-cpu "
        f"{m['tensorflow']}, Keras {m['keras']}; load average at start "
        f"{m['loadavg_start']:.2f}.",
        "",
        "Times are median (min-max, n runs). Ratios compare medians of runs made "
        "side by side, interleaved round by round.",
        "",
    ]
    targets: list[tuple[str, str, bool]] = []
    if "tool" in results:
        lines += render_tool(results["tool"], targets)
    if "train" in results:
        lines += render_train(results["train"], targets)
    lines += [
        "### Serving",
        "",
        "| benchmark | result |",
        "| --- | --- |",
        "| serve | not measured yet |",
        "",
        "### Targets",
        "",
        "| target | measured | met |",
        "| --- | --- | --- |",
    ]
    lines += [f"| {t} | {v} | {'yes' if ok else '**no**'} |" for t, v, ok in targets]
    return "\n".join(lines) + "\n"


def render_tool(tool: dict, targets: list) -> list[str]:
    v, ref = tool["versions"], tool["reference_tree"]
    sizes = tool["generated_trees"]
    lines = [
        "### The tool",
        "",
        f"cookiecutter {v['cookiecutter']} and copier {v['copier']} render a "
        f"template the benchmark writes from a generated tfk project ({ref['files']} "
        f"files, {ref['lines']:,} lines) with its package name as a variable. Trees "
        "written (files/lines): "
        + ", ".join(f"{k} {a}/{b:,}" for k, (a, b) in sizes.items())
        + f". Load average {tool['loadavg'][0]:.1f} -> {tool['loadavg'][1]:.1f}.",
        "",
        "| command | tfk | cookiecutter | copier | tfk / cookiecutter | tfk / copier |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for key, label, cc_target, copier_target in (
        ("help_s", "`--help` (s)", 1.0, 0.5),
        ("new_s", "new project (s)", 1.0, 0.5),
    ):
        s = {name: stat(times) for name, times in tool[key].items()}
        vs_cc = s["tfk"]["median"] / s["cookiecutter"]["median"]
        vs_copier = s["tfk"]["median"] / s["copier"]["median"]
        lines.append(
            f"| {label} | {fmt(s['tfk'], 3)} | {fmt(s['cookiecutter'], 3)} | "
            f"{fmt(s['copier'], 3)} | {vs_cc:.2f}x | {vs_copier:.2f}x |"
        )
        what = "tfk --help" if key == "help_s" else "tfk new"
        op = "<" if key == "help_s" else "<="
        targets.append(
            (
                f"{what} {op} cookiecutter",
                f"{vs_cc:.2f}x",
                vs_cc < cc_target if key == "help_s" else vs_cc <= cc_target,
            )
        )
        targets.append(
            (f"{what} <= 0.5x copier", f"{vs_copier:.2f}x", vs_copier <= copier_target)
        )
    return [*lines, ""]


def render_train(train: dict, targets: list) -> list[str]:
    summary = summarize_training(train)
    peak = summary["matmul_peak"]
    lines = ["### Training loops", ""]
    lines.append(
        "Steady samples/s: training phase of every epoch after the first "
        "(validation excluded). Epoch wall: start of one epoch to the next, so it "
        "also pays validation, checkpoints, TensorBoard and callbacks. First step: "
        "from calling `train(config)` (or building the reference) to the end of the "
        "first graph call (32 steps with steps_per_execution=32, 1 for plain fit), "
        "after the ~2 s `import tensorflow`. plain = `keras.Sequential` of the same "
        "layers, `compile` + `fit` with default settings on the same batches."
    )
    lines.append("")
    for size in ("small", "wide"):
        if size not in summary:
            continue
        block = summary[size]
        config = ", ".join(train["configs"][size]) or "the default config.toml"
        lines += [
            f"**{size}**: {config}. Load average {block['loadavg'][0]:.1f} -> "
            f"{block['loadavg'][1]:.1f}.",
            "",
            "| loop | steady samples/s | vs plain | best vs best | CPU us/sample "
            "| vs plain (CPU) | epoch wall samples/s | vs plain | first step (s) "
            "| peak RSS (MiB) | val acc |"
            + (" % of matmul peak (wall, CPU) |" if size == "wide" else ""),
            "|" + " --- |" * (12 if size == "wide" else 11),
        ]
        for loop, row in block["table"].items():
            cells = [
                loop,
                fmt(row["steady"], 0),
                f"{row['vs_plain']:.2f}x",
                f"{row['best_vs_plain']:.2f}x",
                fmt(row["cpu_us"], 1),
                f"{row['cpu_vs_plain']:.2f}x",
                fmt(row["wall"], 0) if row["wall"] else "-",
                f"{row.get('wall_vs_plain', float('nan')):.2f}x",
                fmt(row["first_step"], 2),
                f"{row['rss']['max']:,.0f}",
                f"{row['val_accuracy']:.3f}",
            ]
            if size == "wide":
                cells.append(
                    f"{row['peak_fraction']:.0%}, {row['cpu_peak_fraction']:.0%}"
                )
            lines.append("| " + " | ".join(cells) + " |")
        data = block["data"]
        lines += [
            "",
            "`make_dataset('train')` alone, samples/s: iterated in Python "
            f"{fmt(data['generated_python'], 0)}, drained in-graph "
            f"(`Dataset.reduce`) {fmt(data['generated_graph'], 0)}; that is "
            f"{block['data_vs_training']:.1f}x the fastest training loop. What-if, "
            "shuffling row indices and gathering whole batches: in Python "
            f"{fmt(data['vectorized_python'], 0)}, in-graph "
            f"{fmt(data['vectorized_graph'], 0)}.",
            "",
        ]
        targets.append(
            (
                f"{size}: tf.data >= 5x what training consumes",
                f"{block['data_vs_training']:.1f}x",
                block["data_vs_training"] >= 5,
            )
        )
        table = block["table"]
        if size == "small":
            for loop, want in (("keras", 1.5), ("hybrid", 1.5), ("tf", 2.0)):
                row = table[loop]
                got = row["vs_plain"]
                context = (
                    f"{got:.2f}x (best vs best {row['best_vs_plain']:.2f}x, "
                    f"CPU time {row['cpu_vs_plain']:.2f}x)"
                )
                targets.append(
                    (f"small: {loop} >= {want}x plain fit", context, got >= want)
                )
        else:
            for loop in STYLES:
                got = table[loop]["vs_best"]
                targets.append(
                    (
                        f"wide: {loop} within 10% of the best loop",
                        f"{got:.0%} (CPU time per sample: "
                        f"{table[loop]['cpu_vs_best']:.0%})",
                        got >= 0.9,
                    )
                )
            for loop in STYLES:
                got = table[loop]["peak_fraction"]
                targets.append(
                    (
                        f"wide: {loop} >= 60% of layer-shaped matmul peak",
                        f"{got:.0%} (per CPU second: "
                        f"{table[loop]['cpu_peak_fraction']:.0%})",
                        got >= 0.6,
                    )
                )
    if peak:
        lines += [
            f"Layer-shaped matmul peak ([256, 512] x [512, 512], chained in a "
            f"tf.function): best {peak['max'] / 1e9:.0f} GFLOP/s, median "
            f"{peak['median'] / 1e9:.0f} (n={peak['n']}); per CPU second of the "
            f"process: best {summary['matmul_cpu_peak']['max'] / 1e9:.0f} GFLOP. "
            "A wide training example "
            f"costs {summary['wide']['flops_per_example'] / 1e6:.2f} MFLOP of matmuls "
            "(forward, weight gradients, input gradients after the first layer).",
            "",
        ]
    return lines


def save_readme(report: str) -> None:
    text = README.read_text()
    begin, end = text.index(START) + len(START), text.index(END)
    README.write_text(text[:begin] + "\n" + report + text[end:])


if __name__ == "__main__":
    main()
