"""tfk benchmarks: the tool against cookiecutter and copier, and the generated
training loops against plain `keras.Model.fit`.

    python benchmarks/run.py            # everything, ~4-6 min on 2 cores
    python benchmarks/run.py --quick    # fewer runs and a smaller wide config, ~2 min
    python benchmarks/run.py --only tool        # or: train, serve, files, tune
    python benchmarks/run.py --save     # also rewrite the table in benchmarks/README.md

With --only and --save, the other parts are kept from benchmarks/latest.json.

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
import math
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from files import bench_files, render_files
from tuning import bench_tune, render_tune

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENV = HERE / ".venv"
WORKER = HERE / "worker.py"
README = HERE / "README.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"
STYLES = ("keras", "hybrid", "tf")
LOOPS = ("plain", *STYLES)
# The throughput config turns XLA on, as config.py advises for wide MLPs;
# --whatif measures the same config without it.
JIT = "train.jit_compile=true"


@dataclass(frozen=True)
class Plan:
    """How many runs of what: the full plan, or a quick one."""

    help_runs: int
    new_runs: int
    small_rounds: int
    wide_rounds: int
    serve_rounds: int
    small: tuple[str, ...]
    wide: tuple[str, ...]
    file_rows: int
    tune_trials: int


FULL = Plan(
    help_runs=7,
    new_runs=5,
    small_rounds=2,
    # Three: one process in a round may run 20% slow on this shared machine.
    wide_rounds=3,
    serve_rounds=3,
    # The default config exactly as generated (10 epochs, batch 64, [64, 64]).
    small=(),
    wide=(
        "data.num_samples=200000",
        "train.batch_size=256",
        "model.hidden_units=[512, 512]",
        "train.epochs=3",
        JIT,
    ),
    file_rows=300_000,
    tune_trials=20,
)
QUICK = Plan(
    help_runs=3,
    new_runs=3,
    small_rounds=1,
    wide_rounds=1,
    serve_rounds=1,
    small=("train.epochs=4",),
    wide=(
        "data.num_samples=60000",
        "train.batch_size=256",
        "model.hidden_units=[512, 512]",
        "train.epochs=3",
        JIT,
    ),
    file_rows=60_000,
    tune_trials=5,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter runs")
    parser.add_argument(
        "--only",
        choices=["tool", "train", "serve", "files", "tune"],
        help="one part only",
    )
    parser.add_argument(
        "--whatif",
        action="store_true",
        help="also train the wide config without XLA (~3 min more)",
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
            results["train"] = bench_train(work, plan, args.whatif)
        if args.only in (None, "serve"):
            results["serve"] = bench_serve(work, plan)
        if args.only in (None, "files"):
            results["files"] = bench_files(
                work, plan.file_rows, 1, tfk_command(), run_measured
            )
        if args.only in (None, "tune"):
            results["tune"] = bench_tune(work, plan.tune_trials, tfk_command())
    results["total_s"] = time.perf_counter() - started
    if args.save and args.only and (HERE / "latest.json").is_file():
        # One part re-measured: keep the others (and their header) as they were;
        # the part says when and where it was measured.
        previous = json.loads((HERE / "latest.json").read_text())
        part = {**results[args.only], "machine": results["machine"]}
        results = {**previous, args.only: part}
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


def bench_train(work: Path, plan: Plan, whatif: bool) -> dict:
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
    configs = {"small": list(plan.small), "wide": list(plan.wide)}
    if whatif:
        configs["wide-no-jit"] = [item for item in plan.wide if item != JIT]
    results: dict = {"configs": configs}
    for size, overrides in configs.items():
        rounds = plan.small_rounds if size == "small" else plan.wide_rounds
        runs: dict[str, list[dict]] = {loop: [] for loop in LOOPS}
        runs["data"], runs["matmul"] = [], []
        load = [os.getloadavg()[0]]
        for round_number in range(rounds):
            for loop in rotate(list(LOOPS), round_number):
                print(f"  {size} round {round_number + 1}/{rounds}: {loop}", flush=True)
                runs[loop].append(run_loop(work, projects, loop, overrides))
            runs["data"].append(run_loop(work, projects, "data", overrides))
            if size == "wide":
                runs["matmul"].append(run_loop(work, projects, "matmul", overrides))
        load.append(os.getloadavg()[0])
        results[size] = {"runs": runs, "loadavg": load}
    return results


def run_loop(work: Path, projects: Path, loop: str, overrides) -> dict:
    base = loop
    style = base if base in STYLES else "keras"  # plain and data use keras's data.py
    package = f"bench{style}"
    command = [sys.executable, str(WORKER)]
    if base in STYLES:
        command += ["style", "--style", style]
    else:
        command += [base]
    if base == "tf":
        command.append("--no-keras")
    if loop == "matmul":
        command += ["--repeats", "10"]
    command += ["--project", str(projects / package), "--package", package]
    for override in overrides:
        command += ["--set", override]
    cwd = Path(tempfile.mkdtemp(prefix=f"{base}-", dir=work))
    return run_measured([*command, "--out", str(cwd / "result.json")], cwd, 300)


# --- Serving ----------------------------------------------------------------------

FEATURES = 100  # the generated project's default data.num_features
SERVE_CONNECTIONS = 4
SERVE_WARMUP_S, SERVE_DURATION_S = 1.0, 5.0


def bench_serve(work: Path, plan: Plan) -> dict:
    """Train and export a tf-style project, serve it on 127.0.0.1, and load it
    with keep-alive clients (processes, then threads) and direct calls, round by
    round. The server is always stopped at the end."""
    tfk, package = tfk_command(), "benchserve"
    subprocess.run(
        [
            *(tfk, "new", package, "--style", "tf", "--with", "serve", "--no-git"),
            *("-o", str(work / "serve")),
        ],
        check=True,
        capture_output=True,
    )
    project = work / "serve" / package
    env = {
        **os.environ,
        "PYTHONPATH": str(project / "src"),
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    python = [sys.executable, "-m", package]
    for step in (["train", "--set", "train.epochs=1"], ["export"]):
        subprocess.run(
            [*python, *step], cwd=project, env=env, check=True, capture_output=True
        )
    export = max(
        (p for p in (project / "export").iterdir() if p.name.isdigit()),
        key=lambda p: int(p.name),
    )
    log = work / "serve.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [*python, "serve", "--host", "127.0.0.1", "--port", "0"],
            cwd=project,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    runs: dict[str, list[dict]] = {"processes": [], "threads": [], "direct": []}
    try:
        url = wait_for_server(server, log, timeout=120)
        predict = f"{url}:predict"
        print(f"  serving on {url}", flush=True)
        for round_number in range(plan.serve_rounds):
            for variant in rotate(list(runs), round_number):
                print(
                    f"  serve round {round_number + 1}/{plan.serve_rounds}: {variant}",
                    flush=True,
                )
                load = os.getloadavg()[0]
                cpu = process_cpu_s(server.pid)
                if variant == "direct":
                    result = run_clients(work, ["direct", "--export", str(export)], 1)
                else:
                    per = 1 if variant == "processes" else SERVE_CONNECTIONS
                    count = SERVE_CONNECTIONS // per
                    command = ["client", "--url", predict, "--connections", str(per)]
                    result = run_clients(work, command, count)
                    result["server_cpu_s"] = process_cpu_s(server.pid) - cpu
                result["loadavg"] = [load, os.getloadavg()[0]]
                runs[variant].append(result)
    finally:
        stop_server(server)
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "connections": SERVE_CONNECTIONS,
        "warmup_s": SERVE_WARMUP_S,
        "duration_s": SERVE_DURATION_S,
        "runs": runs,
    }


def wait_for_server(server: subprocess.Popen, log: Path, timeout: float) -> str:
    """The model URL from the server's start-up line, once it answers a GET."""
    import http.client
    from urllib.parse import urlsplit

    deadline = time.monotonic() + timeout
    url = None
    while time.monotonic() < deadline:
        if server.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"serve exited ({server.returncode}):\n{tail}")
        if url is None:
            found = re.search(r" on (http://\S+) ", log.read_text(errors="replace"))
            url = found and found[1]
        if url:
            parts = urlsplit(url)
            connection = http.client.HTTPConnection(parts.hostname, parts.port, 5)
            try:
                connection.request("GET", parts.path)
                if connection.getresponse().status == 200:
                    return url
            except OSError:
                pass
            finally:
                connection.close()
        time.sleep(0.2)
    raise RuntimeError(f"serve not ready after {timeout:.0f} s")


def stop_server(server: subprocess.Popen) -> None:
    """Ctrl-C (the server's own way out), then kill if it lingers."""
    if server.poll() is None:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a running process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_clients(work: Path, mode_args: list[str], count: int) -> dict:
    """`count` worker processes started together; their results pooled."""
    start = time.time() + 1.0 + 0.2 * count  # all of them begin at the same moment
    timing = [
        "--start",
        str(start),
        "--warmup",
        str(SERVE_WARMUP_S),
        "--duration",
        str(SERVE_DURATION_S),
    ]
    processes = []
    for _ in range(count):
        cwd = Path(tempfile.mkdtemp(prefix=f"{mode_args[0]}-", dir=work))
        out = cwd / "result.json"
        log = (cwd / "worker.log").open("wb")
        command = [sys.executable, str(WORKER), *mode_args, *timing, "--out", str(out)]
        processes.append(
            (subprocess.Popen(command, cwd=cwd, stdout=log, stderr=log), out, log)
        )
    latencies, errors, sent = [], 0, 0
    limit = time.monotonic() + 120 + SERVE_WARMUP_S + SERVE_DURATION_S
    for process, out, log in processes:
        try:
            process.wait(max(1.0, limit - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        if process.returncode != 0 or not out.is_file():
            tail = Path(log.name).read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{mode_args[0]} worker failed:\n{tail}")
        result = json.loads(out.read_text())
        latencies += result["latencies_s"]
        errors += result.get("errors", 0)
        sent += result.get("sent", len(result["latencies_s"]))
    # The pooled latencies are reduced here: latest.json keeps no raw samples.
    return {
        "timed": len(latencies),
        "p50_s": percentile(latencies, 50),
        "p99_s": percentile(latencies, 99),
        "max_s": max(latencies),
        "errors": errors,
        "sent": sent,
    }


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile: the smallest value with q% of values at or below."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def summarize_serving(serve: dict) -> dict:
    out = {}
    for variant, runs in serve["runs"].items():
        rates = [run["timed"] / serve["duration_s"] for run in runs]
        row = {
            "rate": stat(rates),
            "p50_ms": stat([1e3 * run["p50_s"] for run in runs]),
            "p99_ms": stat([1e3 * run["p99_s"] for run in runs]),
            "errors": sum(run["errors"] for run in runs if "errors" in run),
            "load": [
                min(run["loadavg"][0] for run in runs),
                max(run["loadavg"][1] for run in runs),
            ],
        }
        if all("server_cpu_s" in run for run in runs):
            row["server_cpu_ms"] = stat(
                [1e3 * r["server_cpu_s"] / r["sent"] for r in runs]
            )
        out[variant] = row
    return out


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
    matmul = results.get("wide", {}).get("runs", {}).get("matmul", [])
    for chain in ("layer", "step"):
        # Per wall second, and per second of this process's CPU time: what a loop
        # can reach per CPU second however many cores other processes are using.
        for clock, key in (("seconds", "peak"), ("cpu_seconds", "cpu_peak")):
            flops = [
                run[chain]["flops_per_call"] / s
                for run in matmul
                for s in run[chain][clock]
            ]
            out[f"{chain}_{key}"] = stat(flops) if flops else None
    for size in results["configs"]:
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
                    run["steps_per_epoch"] * run["batch_size"] / s
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
            "data_vs_training": data["stream_alone"]["median"] / fastest,
            "floor_vs_training": data["floor_graph"]["median"] / fastest,
            "loadavg": results[size]["loadavg"],
        }
        if size.startswith("wide") and out["layer_peak"]:
            hidden = [512, 512]
            for item in results["configs"][size]:
                if item.startswith("model.hidden_units="):
                    hidden = json.loads(item.split("=", 1)[1])
            flops = train_flops_per_example(100, hidden, 2)
            out[size]["flops_per_example"] = flops
            for loop in loops:
                row = table[loop]
                wall_flops = row["steady"]["median"] * flops
                cpu_flops = flops / (row["cpu_us"]["median"] * 1e-6)
                row["peak_fraction"] = wall_flops / out["layer_peak"]["max"]
                row["cpu_peak_fraction"] = cpu_flops / out["layer_cpu_peak"]["max"]
                row["step_peak_fraction"] = wall_flops / out["step_peak"]["max"]
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
    for name, render_part in [
        ("tool", render_tool),
        ("train", render_train),
        ("files", render_files),
        ("tune", render_tune),
    ]:
        if name in results:
            lines += measured_apart(render_part(results[name], targets), results[name])
    if "serve" in results:
        lines += render_serve(results["serve"], targets)
    else:
        lines += [
            "### Serving",
            "",
            "| benchmark | result |",
            "| --- | --- |",
            "| serve | not measured yet |",
            "",
        ]
    lines += [
        "### Targets",
        "",
        "| target | measured | met |",
        "| --- | --- | --- |",
    ]
    lines += [f"| {t} | {v} | {'yes' if ok else '**no**'} |" for t, v, ok in targets]
    return "\n".join(lines) + "\n"


def measured_apart(section: list[str], part: dict) -> list[str]:
    """A part re-measured alone (--only ... --save) says, under its heading,
    when and on what: the header above names the last full run."""
    if "machine" not in part:
        return section
    m = part["machine"]
    when = (
        f"Measured apart (`--only`), {m['date']}: {m['nproc']} x {m['cpu']}, "
        f"tensorflow-cpu {m['tensorflow']}; load average at start "
        f"{m['loadavg_start']:.2f}."
    )
    return [*section[:2], when, "", *section[2:]]


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
    peak, step_peak = summary["layer_peak"], summary["step_peak"]
    lines = ["### Training loops", ""]
    lines.append(
        "Steady samples/s: training phase of every epoch after the first "
        "(validation excluded). Epoch wall: start of one epoch to the next, so it "
        "also pays validation, checkpoints, TensorBoard and callbacks. First step: "
        "from calling `train(config)` (or building the reference) to the end of the "
        "first graph call (32 steps with steps_per_execution=32, 1 for plain fit), "
        "after the ~2 s `import tensorflow`. plain = `keras.Sequential` of the same "
        "layers, `compile` + `fit` with default settings on the same batches "
        "(`jit_compile='auto'` picks XLA for it: it enables no op determinism). "
        "Every loop reads one endless stream, `steps_per_epoch` batches an epoch."
    )
    lines.append("")
    for size in train["configs"]:
        if size not in summary:
            continue
        wide = size.startswith("wide")
        block = summary[size]
        config = ", ".join(train["configs"][size]) or "the default config.toml"
        lines += [
            f"**{size}**: {config}. Load average {block['loadavg'][0]:.1f} -> "
            f"{block['loadavg'][1]:.1f}.",
            "",
            "| loop | steady samples/s | vs plain | best vs best | CPU us/sample "
            "| vs plain (CPU) | epoch wall samples/s | vs plain | first step (s) "
            "| peak RSS (MiB) | val acc |"
            + (" % of layer peak (wall, CPU); of step peak |" if wide else ""),
            "|" + " --- |" * (12 if wide else 11),
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
            if wide:
                cells.append(
                    f"{row['peak_fraction']:.0%}, {row['cpu_peak_fraction']:.0%}; "
                    f"{row['step_peak_fraction']:.0%}"
                )
            lines.append("| " + " | ".join(cells) + " |")
        data = block["data"]
        lines += [
            "",
            "The training stream (`make_dataset('train', repeat=True)`), samples/s: "
            "alone, iterated in C++ by `skip` as tf.data's own benchmarks time a "
            f"pipeline, {fmt(data['stream_alone'], 0)}, that is "
            f"{block['data_vs_training']:.1f}x the fastest training loop; pulled in "
            "graph calls of 32 batches as the loops read it "
            f"{fmt(data['stream_graph'], 0)}; by Python `next()` "
            f"{fmt(data['stream_python'], 0)}. The floor of the graph-call pull (one "
            "ready batch handed out again and again): "
            f"{fmt(data['floor_graph'], 0)}, {block['floor_vs_training']:.1f}x the "
            "fastest loop.",
            "",
        ]
        if size == "wide-no-jit":
            continue  # a what-if: no targets
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
                        f"{table[loop]['cpu_peak_fraction']:.0%}; of the "
                        f"training-step matmuls' peak: "
                        f"{table[loop]['step_peak_fraction']:.0%})",
                        got >= 0.6,
                    )
                )
    if peak:
        lines += [
            f"Layer-shaped matmul peak ([256, 512] x [512, 512], chained in a "
            f"tf.function): best {peak['max'] / 1e9:.0f} GFLOP/s, median "
            f"{peak['median'] / 1e9:.0f} (n={peak['n']}); per CPU second of the "
            f"process: best {summary['layer_cpu_peak']['max'] / 1e9:.0f} GFLOP. "
            "Step peak (every matmul of a training step of the wide MLP, "
            "forward and backward, chained): best "
            f"{step_peak['max'] / 1e9:.0f} GFLOP/s, median "
            f"{step_peak['median'] / 1e9:.0f}. Targets use the layer peak's best. "
            "A wide training example "
            f"costs {summary['wide']['flops_per_example'] / 1e6:.2f} MFLOP of matmuls "
            "(forward, weight gradients, input gradients after the first layer).",
            "",
        ]
    return lines


SERVE_TARGET_RPS, SERVE_TARGET_P99_MS = 1400, 10.0


def render_serve(serve: dict, targets: list) -> list[str]:
    s = summarize_serving(serve)
    lines = [
        "### Serving",
        "",
        f"Measured {serve['date']}. `python -m PKG serve --port 0` (tf-style project, "
        "1 epoch, exported) in its own process; clients send single-instance "
        f"`:predict` requests ({FEATURES} named float columns) on "
        f"{serve['connections']} "
        "keep-alive `http.client` connections, either one process per connection "
        "or one process with a thread per connection; "
        f"{serve['warmup_s']:.0f} s untimed warm-up, then {serve['duration_s']:.0f} s "
        "timed, per round. Direct: `tf.saved_model.load` + "
        '`signatures["serving_default"]` on one instance in a loop, one process, '
        "same windows, no HTTP. Rates, p50 and p99 are per round, shown as median "
        "(min-max, n rounds); server CPU: the server process's user+system time "
        "over every request it answered in the round, warm-up included.",
        "",
        "| benchmark | requests/s | p50 (ms) | p99 (ms) | server CPU (ms/request) "
        "| errors | load average |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    labels = {
        "processes": f"serve, {serve['connections']} client processes",
        "threads": f"serve, 1 client process x {serve['connections']} threads",
        "direct": "direct signature call (calls/s)",
    }
    for variant, label in labels.items():
        row = s[variant]
        cpu = fmt(row["server_cpu_ms"], 2) if row.get("server_cpu_ms") else "-"
        lines.append(
            f"| {label} | {fmt(row['rate'], 0)} | {fmt(row['p50_ms'], 2)} | "
            f"{fmt(row['p99_ms'], 2)} | {cpu} | {row['errors']} | "
            f"{row['load'][0]:.1f}-{row['load'][1]:.1f} |"
        )
    best = max(("processes", "threads"), key=lambda v: s[v]["rate"]["median"])
    lines += [
        "",
        f"More requests/s with client {best}: "
        f"{s['processes']['rate']['median']:,.0f} (processes) vs "
        f"{s['threads']['rate']['median']:,.0f} (threads). The server answers "
        f"{s['processes']['rate']['median'] / s['direct']['rate']['median']:.0%} "
        "of the direct call rate.",
        "",
    ]
    row = s["processes"]
    rate, p99 = row["rate"]["median"], row["p99_ms"]["median"]
    targets.append(
        (
            f"serve >= {SERVE_TARGET_RPS:,} requests/s (4 client processes)",
            f"{rate:,.0f} (load {row['load'][0]:.1f}-{row['load'][1]:.1f})",
            rate >= SERVE_TARGET_RPS,
        )
    )
    targets.append(
        (
            f"serve p99 <= {SERVE_TARGET_P99_MS:.0f} ms (4 client processes)",
            f"{p99:.2f} ms",
            p99 <= SERVE_TARGET_P99_MS,
        )
    )
    return lines


def save_readme(report: str) -> None:
    text = README.read_text()
    begin, end = text.index(START) + len(START), text.index(END)
    README.write_text(text[:begin] + "\n" + report + text[end:])


if __name__ == "__main__":
    main()
