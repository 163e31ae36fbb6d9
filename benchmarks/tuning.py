"""The tune block of `run.py`: a study's best config against the default one,
and what `tune` costs per trial on top of plain `train`.

One generated project (hybrid style, tabular task, its default config and its
generated [tune.space]), driven through its own command line:

- **default**: `train` with the default config, then `evaluate --json` (the
  held-out test split, which no trial ever sees).
- **study**: `tune --trials N` over the generated space (TPE, median pruning),
  then `train --config runs/study/best.toml` and `evaluate` of that run.
- **overhead**: `tune --trials K` over a space with one value, the default
  learning rate, so that every trial is exactly the default `train`. Its CPU
  time per trial is set against one `train` process; and, import time of each
  process taken out (measured alone, `python -c "import PKG.tune"` and
  `PKG.train`), the CPU that tune adds to one trial's training.

CPU times are the whole process's (all threads, from `os.wait4`), so another
process on the machine moves them less than wall times. Runs are `nice`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PACKAGE = "benchtune"
STYLE = "hybrid"
OVERHEAD_TRIALS = 3


def bench_tune(work: Path, trials: int, tfk: str) -> dict:
    root = work / "tune"
    subprocess.run(
        [tfk, "new", PACKAGE, "--style", STYLE, "--no-git"]
        + ["--with", "tune", "-o", str(root)],
        check=True,
        capture_output=True,
    )
    project = root / PACKAGE
    load = [os.getloadavg()[0]]
    config = (project / "config.toml").read_text()
    learning_rate = re.search(r"^learning_rate = ([\d.e-]+)", config, re.M)[1]
    space = "\n".join(
        line
        for line in config.split("\n[tune.space]\n", 1)[1].splitlines()
        if line and not line.startswith("#")
    )

    def cli(*args: str, name: str) -> dict:
        print(f"  tune: {name}", flush=True)
        return run_cpu(project, ["-m", PACKAGE, *args])

    imports = {
        module: run_cpu(project, ["-c", f"import {PACKAGE}.{module}"])["cpu_s"]
        for module in ("train", "tune")
    }
    default = cli("train", "--set", "train.run_name=default", name="default train")
    default_test = evaluate(cli, "--set", "train.run_name=default")
    one_value = f"tune.space={{train.learning_rate={{choice=[{learning_rate}]}}}}"
    overhead = cli(
        "tune",
        *("--trials", str(OVERHEAD_TRIALS)),
        *("--set", "tune.study=overhead", "--set", one_value),
        name=f"{OVERHEAD_TRIALS} trials of the default config",
    )
    study = cli(
        "tune",
        *("--trials", str(trials), "--set", "tune.study=study"),
        name=f"{trials}-trial study (~{trials} default trains at most)",
    )
    best_file = "runs/study/best.toml"
    best = cli("train", "--config", best_file, name="train the best config")
    best_test = evaluate(cli, "--config", best_file)
    lines = study["stdout"].splitlines()
    load.append(os.getloadavg()[0])
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "loadavg": load,
        "style": STYLE,
        "space": space,
        "trials": trials,
        "imports_cpu_s": imports,
        "default": summarize_train(default, default_test),
        "best": summarize_train(best, best_test),
        "best_values": lines[-2] if len(lines) > 1 else "",
        "study": {
            "wall_s": study["wall_s"],
            "cpu_s": study["cpu_s"],
            "pruned": sum("pruned after epoch" in line for line in lines),
            "trial_lines": [line for line in lines if line.startswith("[")],
        },
        "overhead": {
            "trials": OVERHEAD_TRIALS,
            "tune_cpu_s": overhead["cpu_s"],
            "tune_wall_s": overhead["wall_s"],
            "train_cpu_s": default["cpu_s"],
            "train_wall_s": default["wall_s"],
        },
    }


def evaluate(cli, *args: str) -> float:
    result = cli("evaluate", "--json", *args, name="evaluate")
    return json.loads(result["stdout"].strip().splitlines()[-1])["accuracy"]


def summarize_train(run: dict, test_accuracy: float) -> dict:
    found = re.findall(r"val_accuracy (\d\.\d+)", run["stdout"])
    return {
        "val_accuracy": float(found[-1]) if found else float("nan"),
        "test_accuracy": test_accuracy,
        "wall_s": run["wall_s"],
        "cpu_s": run["cpu_s"],
    }


def run_cpu(project: Path, args: list[str]) -> dict:
    """`nice python ARGS` in the project: its stdout, wall and CPU seconds."""
    env = {
        **os.environ,
        "PYTHONPATH": str(project / "src"),
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        # `nice` execs python: wait4 gives python's own CPU time, all threads.
        process = subprocess.Popen(
            ["nice", sys.executable, *args],
            cwd=project,
            env=env,
            stdout=out,
            stderr=err,
        )
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        if os.waitstatus_to_exitcode(status):
            raise RuntimeError(f"{' '.join(args)} failed:\n{err.read()[-3000:]}")
        stdout = out.read()
    return {"stdout": stdout, "wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime}


def render_tune(tune: dict, targets: list) -> list[str]:
    default, best, study = tune["default"], tune["best"], tune["study"]
    overhead = tune["overhead"]
    trials = overhead["trials"]
    per_trial = overhead["tune_cpu_s"] / trials
    import_train, import_tune = (tune["imports_cpu_s"][m] for m in ("train", "tune"))
    work_train = overhead["train_cpu_s"] - import_train
    work_trial = (overhead["tune_cpu_s"] - import_tune) / trials
    lines = [
        f"### Tune: a {tune['trials']}-trial study against the default config",
        "",
        f"{tune['style']} style, tabular task, the generated config and space "
        f"(`{'`, `'.join(tune['space'].splitlines())}`). Accuracy on the test "
        "split, which no trial sees; validation accuracy is what the study "
        f"maximizes. Measured {tune['date']}, load average "
        f"{tune['loadavg'][0]:.1f} -> {tune['loadavg'][1]:.1f}.",
        "",
        "| config | val accuracy | test accuracy | train wall s | train CPU s |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, row in (("default", default), ("study's best", best)):
        lines.append(
            f"| {name} | {row['val_accuracy']:.4f} | {row['test_accuracy']:.4f} "
            f"| {row['wall_s']:.1f} | {row['cpu_s']:.1f} |"
        )
    lines += [
        "",
        f"The study: {study['wall_s']:.0f} s wall, {study['cpu_s']:.0f} s CPU, "
        f"{study['pruned']} of {tune['trials']} trials pruned. {tune['best_values']}",
        "",
        f"Overhead: {trials} trials of the default config in one `tune` took "
        f"{per_trial:.1f} s CPU per trial against {overhead['train_cpu_s']:.1f} s "
        f"for one `train` process; without each process's imports "
        f"({import_tune:.1f} s for tune, {import_train:.1f} s for train), "
        f"{work_trial:.1f} s per trial against {work_train:.1f} s.",
        "",
    ]
    targets.append(
        (
            "tune: CPU per trial (imports excluded) / plain train <= 1.10",
            f"{work_trial / work_train:.2f}x",
            work_trial / work_train <= 1.10,
        )
    )
    targets.append(
        (
            f"tune: {tune['trials']}-trial best test accuracy >= default",
            f"{best['test_accuracy']:.4f} vs {default['test_accuracy']:.4f}",
            best["test_accuracy"] >= default["test_accuracy"],
        )
    )
    return lines
