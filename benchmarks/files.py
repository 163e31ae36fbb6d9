"""The files block of `run.py`: a user's CSV against the same shape in memory.

For each style, side by side: `train` from a CSV file and from the built-in
synthetic data of the same shape (rows x features, two classes), 3 epochs at
batch 64; the project's first pass over the file alone; `pandas.read_csv` of
the same file; and what a user would write instead of the project, pandas ->
NumPy -> `keras.Model.fit`. Then an image folder (the image project's
synthetic images as PNG files, one sub-folder per class): each style's `train`
on it against `keras.utils.image_dataset_from_directory` -> `fit`, the same
epochs, timed to a validation accuracy (TARGET). And (d) the
same CSV with the memory budget lowered below its size (data.memory_budget_mb),
so `data.cache = "auto"` streams it from disk each epoch, and with
`data.cache = "disk"` (streamed once, then read from tf.data's cache). pandas lives
in the benchmark's own venv (benchmarks/.venv-files, with tensorflow-cpu),
never in the project.
"""

from __future__ import annotations

import math
import statistics
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv-files"
WORKER = HERE / "worker.py"
STYLES = ("keras", "hybrid", "tf")
FEATURES = 20
TRAIN = ["train.epochs=3", "train.batch_size=64", "train.min_steps=0"]
# Images: both sides train this many epochs of batch 64, and the table shows
# when each first reached TARGET validation accuracy: the same epochs buy
# different accuracy (batch norm and augmentation against a plain CNN).
IMAGE_EPOCHS = 10
IMAGE_ROUNDS = 5
# A multiple of the four reads (pandas and each style's first pass), which take
# turns in every place of the order.
READ_ROUNDS = 8
TARGET = 0.95
# (d): a budget far below the CSV's size, so "auto" streams it.
STREAMED = {
    "streamed": ["data.memory_budget_mb=1"],
    "disk cache": ["data.cache=disk"],
}
# Seconds per epoch of 240k training rows, streamed, before files were read once.
OLD_STREAM_S = (14.0, 17.0)
# Sequences: a long CSV of this many channels and steps per sequence.
SEQUENCE_FEATURES = 6
STEPS_PER_SEQUENCE = 100
# The sequence project's memory estimate for a CSV (MEMORY_PER_FILE_BYTE).
SEQUENCE_MEMORY_PER_BYTE = 4


def bench_files(work: Path, rows: int, rounds: int, tfk: str, run_measured) -> dict:
    python = ensure_venv()
    csv = work / "table.csv"
    write_csv(csv, rows)
    projects = work / "files-projects"
    for style in STYLES:
        subprocess.run(
            [tfk, "new", f"files{style}", "--style", style, "--with", "stream"]
            + ["--no-git", "-o", str(projects)],
            check=True,
            capture_output=True,
        )
    memory = [f"data.num_samples={rows}", f"data.num_features={FEATURES}"]
    memory += ["data.num_classes=2"]
    from_file = [f"data.path={csv}", "data.label=label"]
    runs: dict[str, list[dict]] = {}

    def project(style: str) -> list[str]:
        """The worker's options for one style's project (Keras blocked for tf)."""
        blocked = ["--no-keras"] if style == "tf" else []
        folder = str(projects / f"files{style}")
        return [*blocked, "--project", folder, "--package", f"files{style}"]

    def measure(name: str, command: list[str]) -> None:
        print(f"  files: {name}", flush=True)
        cwd = Path(tempfile.mkdtemp(prefix="files-", dir=work))
        result = run_measured([*command, "--out", str(cwd / "result.json")], cwd, 900)
        runs.setdefault(name, []).append(result)

    for _ in range(rounds):
        measure(
            "pandas + fit",
            [python, str(WORKER), "pandasfit", "--csv", str(csv), "--epochs", "3"],
        )
        for style in STYLES:
            style_args = ["style", "--style", style, *project(style)]
            streamed = [(name, from_file + extra) for name, extra in STREAMED.items()]
            for source, overrides in (
                ("memory", memory),
                ("csv", from_file),
                *streamed,
            ):
                sets = [item for o in [*overrides, *TRAIN] for item in ("--set", o)]
                measure(
                    f"{style} {source}",
                    [sys.executable, str(WORKER), *style_args, *sets],
                )
    # Reads take a fraction of a second, so a single one swings by half: the
    # medians of READ_ROUNDS fresh processes each, interleaved, the order
    # rotated each round. Unrotated, the process right after pandas's (always
    # keras's) read 0.05-0.1 s slower than the same code at other places.
    sets = [item for o in from_file for item in ("--set", o)]
    reads = {"pandas.read_csv": [python, str(WORKER), "pandas", "--csv", str(csv)]}
    for style in STYLES:
        firstpass = [sys.executable, str(WORKER), "firstpass", *project(style)]
        reads[f"{style} first pass"] = [*firstpass, *sets]
    interleaved(reads, measure)
    images = bench_images(work, rows // 100, tfk, measure)
    sequences = bench_sequences(work, 2 * rows, tfk, python, measure)
    return {
        "rows": rows,
        "features": FEATURES,
        "runs": runs,
        "images": images,
        "sequences": sequences,
    }


def interleaved(reads: dict[str, list[str]], measure) -> None:
    """Each read READ_ROUNDS times, in rounds, the order rotated each round."""
    for round_number in range(READ_ROUNDS):
        order = list(reads)
        by = round_number % len(order)
        for name in order[by:] + order[:by]:
            measure(name, reads[name])


def bench_images(work: Path, count: int, tfk: str, measure) -> dict:
    """Each style's `train` on a folder of `count` PNG files, and the baseline."""
    projects = work / "image-projects"
    for style in STYLES:
        subprocess.run(
            [tfk, "new", f"images{style}", "--style", style, "--task", "image"]
            + ["--no-git", "-o", str(projects)],
            check=True,
            capture_output=True,
        )
    folder = work / "images"
    keras_project = projects / "imageskeras"
    measure(
        "write images",
        [sys.executable, str(WORKER), "writeimages", "--folder", str(folder)]
        + ["--project", str(keras_project), "--package", "imageskeras"]
        + ["--set", f"data.num_samples={count}"],
    )
    config = tomllib.loads((keras_project / "config.toml").read_text())
    filters = ",".join(map(str, config["model"]["conv_filters"]))
    # With one seed every run of a style gives the same curve, and the epoch
    # that first reaches TARGET is decided by that seed's early swings (one
    # epoch is ~2 s): round k uses seed k on every side (initial weights,
    # validation split, augmentation), and the table shows the medians.
    for seed in range(1, IMAGE_ROUNDS + 1):
        measure(
            "image_dataset_from_directory + fit",
            [ensure_venv(), str(WORKER), "imagefit", "--folder", str(folder)]
            + ["--hidden", filters, "--epochs", str(IMAGE_EPOCHS)]
            + ["--image-size", "32", "--seed", str(seed)],
        )
        for style in STYLES:
            blocked = ["--no-keras"] if style == "tf" else []
            sets = [f"data.path={folder}", f"train.epochs={IMAGE_EPOCHS}", *TRAIN[1:]]
            sets.append(f"seed={seed}")
            measure(
                f"{style} image folder",
                [sys.executable, str(WORKER), "style", "--style", style, *blocked]
                + ["--project", str(projects / f"images{style}")]
                + ["--package", f"images{style}"]
                + [item for override in sets for item in ("--set", override)],
            )
    return {"count": count}


def bench_sequences(work: Path, steps: int, tfk: str, python: str, measure) -> dict:
    """A sequence project's first pass over a long CSV of `steps` rows (id,
    step, SEQUENCE_FEATURES channels, label), against pandas doing the same."""
    project = work / "sequence-projects" / "seqkeras"
    subprocess.run(
        [tfk, "new", "seqkeras", "--task", "sequence", "--style", "keras"]
        + ["--no-git", "-o", str(project.parent)],
        check=True,
        capture_output=True,
    )
    csv = work / "sequences.csv"
    write_long_csv(csv, steps)
    sets = [f"data.path={csv}", "data.sequence_id=id", "data.order=step"]
    reads = {
        "pandas sequences": [python, str(WORKER), "pandasseq", "--csv", str(csv)],
        "sequence first pass": [sys.executable, str(WORKER), "firstpass"]
        + ["--project", str(project), "--package", "seqkeras"]
        + [item for override in sets for item in ("--set", override)],
    }
    interleaved(reads, measure)
    return {"steps": steps, "bytes": csv.stat().st_size}


def write_long_csv(path: Path, steps: int) -> None:
    """Sequences of STEPS_PER_SEQUENCE steps: an id as files name them, the
    step number, seeded channels (6 decimals) and a label word."""
    import numpy as np

    rng = np.random.default_rng(0)
    count = steps // STEPS_PER_SEQUENCE
    values = rng.normal(size=(count * STEPS_PER_SEQUENCE, SEQUENCE_FEATURES))
    sequence = np.arange(len(values)) // STEPS_PER_SEQUENCE
    with path.open("w") as file:
        channels = [f"ch{i}" for i in range(SEQUENCE_FEATURES)]
        file.write(",".join(["id", "step", *channels, "label"]) + "\n")
        for row, (index, cells) in enumerate(zip(sequence, values, strict=True)):
            step = row % STEPS_PER_SEQUENCE
            numbers = ",".join(f"{value:.6f}" for value in cells)
            label = ("walking", "running", "standing")[index % 3]
            file.write(f"sample_{index:05d},{step},{numbers},{label}\n")


def ensure_venv() -> str:
    """benchmarks/.venv-files with pandas and tensorflow-cpu; made on first use."""
    python = VENV / "bin" / "python"
    if not python.exists():
        print("creating benchmarks/.venv-files with pandas ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [str(VENV / "bin" / "pip"), "install", "-q", "pandas", "tensorflow-cpu"],
            check=True,
        )
    return str(python)


def write_csv(path: Path, rows: int) -> None:
    """Seeded float features (6 decimals, as files hold them) and a 0/1 label."""
    import numpy as np

    rng = np.random.default_rng(0)
    features = rng.normal(size=(rows, FEATURES)).astype("float32")
    labels = (features[:, :3].sum(axis=1) > 0).astype(int)
    with path.open("w") as file:
        file.write(",".join([f"f{i}" for i in range(FEATURES)] + ["label"]) + "\n")
        np.savetxt(
            file,
            np.column_stack([features, labels]),
            delimiter=",",
            fmt=["%.6f"] * FEATURES + ["%d"],
        )


def summarize(files: dict) -> dict:
    table = {}
    for name, runs in files["runs"].items():
        row: dict = {"rss_mib": median(run["peak_rss_mib"] for run in runs)}
        if "first_pass_s" not in runs[0]:
            row["wall_s"] = median(run["wall_s"] for run in runs)
        if "train_phase_s" in runs[0]:
            row["steady"] = median(
                run["train_examples"] / s
                for run in runs
                for s in run["train_phase_s"][1:]
            )
            row["accuracy"] = median(
                run["metrics"].get("val_accuracy", float("nan")) for run in runs
            )
        if runs[0].get("accuracy_curve"):
            row["to_target_s"] = median(
                next((s for s, acc in run["accuracy_curve"] if acc >= TARGET), math.inf)
                for run in runs
            )
        for key in ("first_pass_s", "read_s"):
            if key in runs[0]:
                row[key] = median(run[key] for run in runs)
        table[name] = row
    return table


def cell(row: dict, key: str, form: str) -> str:
    return form.format(row[key]) if key in row else "-"


def median(values) -> float:
    return statistics.median(list(values))


def render_files(files: dict, targets: list) -> list[str]:
    table = summarize(files)
    pandas_read = table["pandas.read_csv"]["read_s"]
    # pandas 3 reads this file ~1.7x faster than pandas 2 did (0.14 s, 0.24 s).
    version = files["runs"]["pandas.read_csv"][0].get("pandas", "version not recorded")
    baseline = table["pandas + fit"]
    lines = [
        f"### Files: a {files['rows']:,} x {files['features']} CSV against the same "
        "shape in memory",
        "",
        "3 epochs, batch 64, the default MLP. Steady = training samples/s after "
        "the first epoch; wall = the whole `train` process.",
        "",
        "| run | steady samples/s | train wall s | first pass s | peak RSS MiB "
        "| val accuracy |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    images = [name for name in table if "image" in name and name != "write images"]
    apart = {"pandas.read_csv", "write images", *images, *SEQUENCE_READS}
    for name, row in table.items():
        if name in apart:
            continue
        cells = [
            cell(row, "steady", "{:,.0f}"),
            cell(row, "wall_s", "{:.1f}"),
            cell(row, "first_pass_s", "{:.2f}"),
            cell(row, "rss_mib", "{:,.0f}"),
            cell(row, "accuracy", "{:.4f}"),
        ]
        lines.append(f"| {name} | {' | '.join(cells)} |")
    lines += [
        "",
        f"`pandas.read_csv` of the file: {pandas_read:.2f} s (pandas {version}). "
        "Reads and first passes: "
        f"medians of {READ_ROUNDS} fresh processes each.",
        "",
    ]
    lines += render_streamed(files, table, targets)
    if images:
        lines += render_images(files, table, images, targets)
    if "sequences" in files:
        lines += render_sequences(files, table, targets)
    for style in STYLES:
        csv, memory = table[f"{style} csv"], table[f"{style} memory"]
        first = table[f"{style} first pass"]["first_pass_s"]
        ratios = (
            (
                f"{style}: CSV steady / in-memory steady >= 0.9",
                csv["steady"] / memory["steady"],
                ">=",
                0.9,
            ),
            (
                f"{style}: CSV train wall / in-memory wall <= 1.3",
                csv["wall_s"] / memory["wall_s"],
                "<=",
                1.3,
            ),
            (
                f"{style}: first pass / pandas.read_csv <= 2",
                first / pandas_read,
                "<=",
                2.0,
            ),
            (
                f"{style}: CSV train wall / pandas + fit wall <= 1",
                csv["wall_s"] / baseline["wall_s"],
                "<=",
                1.0,
            ),
        )
        for text, value, sense, bound in ratios:
            met = value >= bound if sense == ">=" else value <= bound
            targets.append((text, f"{value:.2f}x", met))
    return lines


def render_streamed(files: dict, table: dict, targets: list) -> list[str]:
    """(d): seconds per 240k training rows of the streamed CSV, against the
    14-17 s of the reader that streamed every file before."""
    lines = [
        "(d) The CSV streamed from disk (memory budget below its size): seconds "
        "per epoch, scaled to 240k training rows (before: "
        f"{OLD_STREAM_S[0]:.0f}-{OLD_STREAM_S[1]:.0f} s). Figures from a shared "
        "machine are noisy.",
        "",
        "| run | s per 240k rows | speed-up vs 14 s |",
        "| --- | --- | --- |",
    ]
    for style in STYLES:
        for name in STREAMED:
            row = table.get(f"{style} {name}")
            if not row or "steady" not in row:
                continue
            seconds = 240_000 / row["steady"]
            speedup = OLD_STREAM_S[0] / seconds
            lines.append(f"| {style} {name} | {seconds:.2f} | {speedup:.1f}x |")
            targets.append(
                (
                    f"{style}: {name} CSV >= 3x faster than 14 s per 240k rows",
                    f"{speedup:.1f}x",
                    speedup >= 3.0,
                )
            )
    return [*lines, ""]


def render_images(files: dict, table: dict, names: list[str], targets: list):
    count = files["images"]["count"]
    lines = [
        f"### Files: a folder of {count:,} PNG images (32 x 32, one sub-folder "
        f"per class), {IMAGE_EPOCHS} epochs of batch 64",
        "",
        "| run | steady samples/s | train wall s | peak RSS MiB | val accuracy "
        f"| s to val accuracy >= {TARGET} |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name in names:
        row = table[name]
        cells = [
            cell(row, "steady", "{:,.0f}"),
            cell(row, "wall_s", "{:.1f}"),
            cell(row, "rss_mib", "{:,.0f}"),
            cell(row, "accuracy", "{:.4f}"),
            cell(row, "to_target_s", "{:.1f}").replace("inf", "not reached"),
        ]
        lines.append(f"| {name} | {' | '.join(cells)} |")
    lines += [
        "",
        f"Medians of {IMAGE_ROUNDS} runs each, interleaved, run k with seed k on "
        "every side. Seconds to the target "
        "accuracy count from the process's start: imports, reading the folder, "
        "building and compiling included.",
    ]
    baseline = table["image_dataset_from_directory + fit"]
    for style in STYLES:
        ours = table[f"{style} image folder"]
        ratio = ours["to_target_s"] / baseline["to_target_s"]
        targets.append(
            (
                f"{style}: image folder, s to val accuracy >= {TARGET} / "
                "image_dataset_from_directory + fit's <= 1",
                f"{ours['to_target_s']:.1f} / {baseline['to_target_s']:.1f} s",
                ratio <= 1.0,
            )
        )
    return [*lines, ""]


# The two reads of the sequence block, shown in a table of their own.
SEQUENCE_READS = ("pandas sequences", "sequence first pass")


def render_sequences(files: dict, table: dict, targets: list) -> list[str]:
    """The sequence read: time and the memory it adds, against pandas."""
    sequences = files["sequences"]
    size_mib = sequences["bytes"] / 2**20
    runs = files["runs"]["sequence first pass"]
    added = median(run["peak_rss_mib"] - run["rss_before_mib"] for run in runs)
    ours, pandas = table["sequence first pass"], table["pandas sequences"]
    lines = [
        f"### Files: a long CSV of sequences, {sequences['steps']:,} steps of "
        f"{SEQUENCE_FEATURES} channels ({size_mib:.0f} MiB), "
        f"{STEPS_PER_SEQUENCE} steps a sequence",
        "",
        "| read | s | peak RSS MiB |",
        "| --- | --- | --- |",
        f"| pandas read_csv, sort, group, pad | {pandas['read_s']:.2f} "
        f"| {pandas['rss_mib']:,.0f} |",
        f"| sequence project's first pass | {ours['first_pass_s']:.2f} "
        f"| {ours['rss_mib']:,.0f} (the read adds {added:,.0f}) |",
        "",
        f"Medians of {READ_ROUNDS} fresh processes each, interleaved. The "
        "project's process holds TensorFlow too; pandas's holds no TensorFlow.",
        "",
    ]
    ratio = added / size_mib
    targets.append(
        (
            "sequence first pass: memory added / file size <= "
            f"{SEQUENCE_MEMORY_PER_BYTE} (its memory estimate)",
            f"{ratio:.1f}x",
            ratio <= SEQUENCE_MEMORY_PER_BYTE,
        )
    )
    return lines
