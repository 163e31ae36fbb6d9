"""Re-run issue 15's hostile probes against freshly generated projects.

    python scripts/probes.py                      # every style x task, all sections
    python scripts/probes.py --styles tf --tasks image --only config
    python scripts/probes.py --list               # the probes, without running them

Each probe runs a generated project's command line (or `tfk`) in a scratch copy
under /tmp and prints one line: PASS|FAIL, the variant, the probe and, for a
failure, what was wrong. A probe passes when the command works sensibly or exits
non-zero with exactly one `error: ...` line on stderr, never a traceback, a hang,
a half-written result or a lie (such as a resume that did not happen). Projects
train on tiny configs, but each command still imports TensorFlow: a probe takes
1-60 s (a state probe trains twice), one variant ~15-30 min on 2 busy CPUs, so
filter with --styles, --tasks, --sections and --only, or run variants in
parallel processes. Exit status: the number of failures (capped at 100).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

STYLES = ("keras", "tf", "hybrid")
TASKS = ("tabular", "sequence", "image")
# Small enough to train in seconds.
TINY = {
    "tabular": ["data.num_samples=200", "data.num_features=8"],
    "sequence": ["data.num_samples=200", "data.sequence_length=10"],
    "image": ["data.num_samples=120", "data.image_size=16"],
}
QUICK = ["train.epochs=2", "train.min_steps=0", "train.batch_size=32"]
TIMEOUT = 240


class ProbeFailure(Exception):
    """What was wrong, in one line."""


@dataclass
class Result:
    args: list[str]
    returncode: int | None  # None: killed at the timeout
    stdout: str
    stderr: str
    seconds: float

    def text(self) -> str:
        return self.stdout + self.stderr


def run(
    command: list[str],
    cwd: Path,
    env: dict[str, str] | None = None,
    timeout: float = TIMEOUT,
) -> Result:
    started = time.monotonic()
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=timeout)
        code = process.returncode
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        code = None
    decode = lambda raw: raw.decode("utf-8", "replace")  # noqa: E731
    return Result(command, code, decode(out), decode(err), time.monotonic() - started)


def last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:160] if lines else "(nothing)"


def clean(result: Result, *, must_fail: bool = False, must_work: bool = False) -> None:
    """Works, or one `error:` line; never a traceback, hang or signal death."""
    if "Traceback" in result.text():
        raise ProbeFailure(f"traceback: {last_line(result.stderr)}")
    if result.returncode is None:
        raise ProbeFailure(f"hang: killed after {result.seconds:.0f}s")
    if result.returncode < 0:
        raise ProbeFailure(f"killed by signal {-result.returncode}")
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    if result.returncode == 0:
        if must_fail:
            raise ProbeFailure(f"exit 0, accepted: {last_line(result.stdout)}")
        return
    if must_work:
        raise ProbeFailure(f"exit {result.returncode}: {last_line(result.stderr)}")
    if len(errors) != 1:
        raise ProbeFailure(
            f"exit {result.returncode} with {len(errors)} error lines: "
            f"{last_line(result.stderr)}"
        )


def error_of(result: Result) -> str:
    return next(
        (line for line in result.stderr.splitlines() if line.startswith("error:")), ""
    )


# --- data files -------------------------------------------------------------


def png(path: Path, size: int, value: int) -> None:
    """A grey size x size PNG: enough to make image folders without Pillow."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\0" + bytes([value % 256]) * size for _ in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def tabular_csv(rows: int = 60, label: Callable[[int], str] = str) -> str:
    lines = ["a,b,label"]
    lines += [f"{i % 7},{(i * 3) % 5},{label(i % 2)}" for i in range(rows)]
    return "\n".join(lines) + "\n"


def wide_csv(rows: int = 60, label: Callable[[int], str] = str) -> str:
    lines = ["label,s1,s2,s3,s4,s5"]
    lines += [
        f"{label(i % 2)}," + ",".join(str((i + j) % 3) for j in range(5))
        for i in range(rows)
    ]
    return "\n".join(lines) + "\n"


def image_folder(root: Path, names: tuple[str, ...] = ("cat", "dog")) -> Path:
    for number, name in enumerate(names):
        for index in range(12):
            png(root / name / f"{index}.png", 16, 60 * number + index)
    return root


def data_file(project: Project, text: str, name: str = "data.csv") -> str:
    path = project.dir / name
    path.write_text(text)
    return str(path)


def labelled_data(project: Project, label: Callable[[int], str]) -> str:
    """A small data set of the project's task whose classes are `label(0|1)`."""
    if project.task == "image":
        root = project.dir / "labelled"
        return str(image_folder(root, (label(0), label(1))))
    text = tabular_csv if project.task == "tabular" else wide_csv
    return data_file(project, text(label=label))


# --- projects ---------------------------------------------------------------


@dataclass
class Project:
    """A generated project in a scratch folder, run through its own CLI."""

    dir: Path
    style: str
    task: str
    package: str
    trained: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def variant(self) -> str:
        return f"{self.style}/{self.task}"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "PYTHONPATH": str(self.dir / "src"),
            "TF_CPP_MIN_LOG_LEVEL": "2",
        }

    def cli(
        self,
        *args: str,
        sets: list[str] | None = None,
        timeout: float = TIMEOUT,
    ) -> Result:
        overrides = TINY[self.task] + QUICK + (sets or [])
        if args[:1] == ("train",):  # a new run: the trained one has finished
            overrides.insert(0, "train.run_name=probe")
        command = [sys.executable, "-m", self.package, *args]
        for override in overrides:
            command += ["--set", override]
        return run(command, self.dir, self.env(), timeout)

    def copy(self, into: Path) -> Project:
        target = into / f"{self.style}-{self.task}"
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(self.dir, target, symlinks=True)
        return Project(target, self.style, self.task, self.package, self.trained)


def generate(style: str, task: str, root: Path) -> Project:
    package = f"probe_{style}_{task}"
    result = run(
        [
            sys.executable,
            "-m",
            "tfk_scaffold",
            "new",
            package,
            "--style",
            style,
            "--task",
            task,
            "--no-git",
            "--with",
            "tune",
            "-o",
            str(root),
        ],
        root,
    )
    if result.returncode != 0:
        sys.exit(f"tfk new {style}/{task} failed: {result.stderr}")
    return Project(root / package, style, task, package)


def train_base(project: Project) -> None:
    """A trained run and an export for the probes of evaluate, export, predict."""
    for command in (["train"], ["export"]):
        result = project.cli(*command, sets=["train.run_name=default"])
        if result.returncode != 0:
            sys.exit(f"{project.variant}: {command} failed:\n{result.text()[-3000:]}")
    project.trained = True


# --- Config and CLI ---------------------------------------------------------

Probe = Callable[[Project], None]
CONFIG: dict[str, Probe] = {}
STATE: dict[str, Probe] = {}


def probe(table: dict[str, Probe], name: str) -> Callable[[Probe], Probe]:
    def register(function: Probe) -> Probe:
        table[name] = function
        return function

    return register


def refused(*sets: str, command: str = "train") -> Probe:
    """The command with these overrides must fail with one error line."""

    def check(project: Project) -> None:
        clean(project.cli(command, sets=list(sets)), must_fail=True)

    return check


for _name, _sets in {
    "seed=-1": ["seed=-1"],
    "seed=2**70": [f"seed={2**70}"],
    "run_name with NUL": ['train.run_name="a\\u0000b"'],
    "run_name of 300 chars": [f"train.run_name={'r' * 300}"],
    "data.path a directory": ["data.path=/tmp"],
    "data.path=/dev/zero": ["data.path=/dev/zero"],
    "num_samples=10**12": [f"data.num_samples={10**12}"],
    "hidden_units=[10**9]": [f"model.hidden_units=[{10**9}]"],
    "learning_rate=inf": ["train.learning_rate=inf"],
    "learning_rate=1e308": ["train.learning_rate=1e308"],
    "export.directory=''": ['export.directory=""'],
    "unknown --set key": ["train.epoch=3"],
    "--set a section to a number": ["data=5"],
    "keep_checkpoints=0": ["train.keep_checkpoints=0"],
    "data.path missing file": ["data.path=no/such/file.csv"],
}.items():
    probe(CONFIG, _name)(refused(*_sets))


@probe(CONFIG, "num_features=10**9 (input size)")
def huge_input(project: Project) -> None:
    key = {"image": f"data.image_size={10**5}"}.get(
        project.task, f"data.num_features={10**9}"
    )
    clean(project.cli("train", sets=[key]), must_fail=True)


@probe(CONFIG, "--config a directory")
def config_directory(project: Project) -> None:
    (project.dir / "folder").mkdir()
    clean(project.cli("train", "--config", "folder"), must_fail=True)


@probe(CONFIG, "--config ''")
def config_empty(project: Project) -> None:
    clean(project.cli("train", "--config", ""), must_fail=True)


@probe(CONFIG, "./config.toml a folder")
def config_toml_folder(project: Project) -> None:
    (project.dir / "config.toml").unlink()
    (project.dir / "config.toml").mkdir()
    clean(project.cli("train"), must_fail=True)


@probe(CONFIG, "binary config file")
def config_binary(project: Project) -> None:
    (project.dir / "bad.toml").write_bytes(bytes(range(256)) * 4)
    clean(project.cli("train", "--config", "bad.toml"), must_fail=True)


@probe(CONFIG, "Latin-1 config file")
def config_latin1(project: Project) -> None:
    text = '# caf\u00e9 config\n[train]\nrun_name = "caf\u00e9"\n'
    (project.dir / "latin.toml").write_bytes(text.encode("latin-1"))
    clean(project.cli("train", "--config", "latin.toml"), must_fail=True)


@probe(CONFIG, "binary data file")
def data_binary(project: Project) -> None:
    path = project.dir / "data.bin"
    path.write_bytes(os.urandom(20000))
    if project.task == "image":  # a folder holding a binary "image" per class
        for name in ("a", "b"):
            (project.dir / "binary" / name).mkdir(parents=True)
            for index in range(3):
                shutil.copy(path, project.dir / "binary" / name / f"{index}.png")
        path = project.dir / "binary"
    clean(project.cli("train", sets=[f"data.path={path}"]), must_fail=True)


@probe(CONFIG, "Latin-1 data file")
def data_latin1(project: Project) -> None:
    if project.task == "image":
        path = labelled_data(project, lambda i: ["caf\u00e9", "th\u00e9"][i])
        clean(project.cli("train", sets=[f"data.path={path}"]), must_work=True)
        return
    # Past the first 64 KB, where a reader that decodes chunk by chunk fails.
    text = (tabular_csv if project.task == "tabular" else wide_csv)(rows=8000)
    path = project.dir / "latin.csv"
    path.write_bytes((text + "1,1,caf\u00e9\n").encode("latin-1"))
    clean(project.cli("train", sets=[f"data.path={path}"]))


@probe(CONFIG, "a CSV label of 10**9")
def huge_label(project: Project) -> None:
    path = labelled_data(project, lambda i: str(10**9 * (i + 1)))
    result = project.cli("train", sets=[f"data.path={path}"])
    clean(result, must_work=True)


@probe(CONFIG, "batch_size=10**9 with tiny data")
def huge_batch(project: Project) -> None:
    clean(project.cli("train", sets=[f"train.batch_size={10**9}"]), must_work=True)


@probe(CONFIG, "steps_per_execution=10**9")
def huge_steps_per_execution(project: Project) -> None:
    result = project.cli("train", sets=[f"train.steps_per_execution={10**9}"])
    clean(result, must_work=True)


@probe(CONFIG, "run_name=2024-01-01 unquoted")
def date_run_name(project: Project) -> None:
    result = project.cli("train", sets=["train.run_name=2024-01-01"])
    clean(result, must_work=True)
    if not (project.dir / "runs" / "2024-01-01").is_dir():
        raise ProbeFailure("no runs/2024-01-01 folder")


@probe(CONFIG, "run_name=2024-01-01 in config.toml")
def date_run_name_in_file(project: Project) -> None:
    (project.dir / "date.toml").write_text("[train]\nrun_name = 2024-01-01\n")
    clean(project.cli("train", "--config", "date.toml"))


def export_refused(directory: str) -> Probe:
    def check(project: Project) -> None:
        before = sorted([path.name for path in project.dir.iterdir()])
        clean(
            project.cli("export", sets=[f"export.directory={directory}"]),
            must_fail=True,
        )
        if (project.dir / "config.toml").is_dir():
            raise ProbeFailure("config.toml became a folder")
        if sorted([path.name for path in project.dir.iterdir()]) != before:
            raise ProbeFailure("files were left behind")

    return check


probe(CONFIG, "export.directory=/proc")(export_refused("/proc"))
probe(CONFIG, "export.directory=config.toml")(export_refused("config.toml"))


@probe(CONFIG, "predict on a binary file")
def predict_binary(project: Project) -> None:
    path = project.dir / ("garbage.png" if project.task == "image" else "garbage.csv")
    path.write_bytes(os.urandom(5000))
    clean(project.cli("predict", str(path)), must_fail=True)


@probe(CONFIG, "predict on an empty file")
def predict_empty(project: Project) -> None:
    path = project.dir / ("empty.png" if project.task == "image" else "empty.csv")
    path.write_bytes(b"")
    clean(project.cli("predict", str(path)), must_fail=True)


@probe(CONFIG, "predict on a missing file")
def predict_missing(project: Project) -> None:
    clean(project.cli("predict", "no-such-file.csv"), must_fail=True)


def predict_sets(project: Project) -> list[str]:
    return ["data.sequence_id=id"] if project.task == "sequence" else []


def good_inputs(project: Project) -> Path:
    if project.task == "image":
        return Path(labelled_data(project, lambda i: f"c{i}")) / "c0"
    if project.task == "tabular":
        names = [f"feature_{index}" for index in range(8)]
        rows = [",".join(names)] + [",".join(["0.5"] * 8) for _ in range(3)]
    else:  # long format (data.sequence_id, see PREDICT_SETS): 6 features a step
        rows = ["id," + ",".join(f"f{index}" for index in range(6))]
        rows += [f"{step // 10}," + ",".join(["0.5"] * 6) for step in range(30)]
    path = project.dir / "inputs.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


@probe(CONFIG, "predict works on good inputs")
def predict_good(project: Project) -> None:
    result = project.cli(
        "predict", str(good_inputs(project)), sets=predict_sets(project)
    )
    clean(result, must_work=True)
    if "probability_" not in result.stdout:
        raise ProbeFailure(f"no predictions: {last_line(result.stdout)}")


@probe(CONFIG, "predict -o into a missing folder")
def predict_missing_folder(project: Project) -> None:
    inputs = good_inputs(project)
    clean(
        project.cli(
            "predict", str(inputs), "-o", "nowhere/p.csv", sets=predict_sets(project)
        ),
        must_fail=True,
    )
    if (project.dir / "nowhere").exists():
        raise ProbeFailure("created nowhere/")


@probe(CONFIG, "predict -o onto a directory")
def predict_onto_directory(project: Project) -> None:
    inputs = good_inputs(project)
    (project.dir / "out").mkdir()
    clean(
        project.cli("predict", str(inputs), "-o", "out", sets=predict_sets(project)),
        must_fail=True,
    )
    if any((project.dir / "out").iterdir()):
        raise ProbeFailure("wrote into out/")


@probe(CONFIG, "evaluate with batch_size=10**9")
def evaluate_huge_batch(project: Project) -> None:
    result = project.cli("evaluate", "--json", sets=[f"train.batch_size={10**9}"])
    clean(result, must_work=True)


@probe(CONFIG, "evaluate an untrained run")
def evaluate_untrained(project: Project) -> None:
    result = project.cli("evaluate", sets=["train.run_name=never"])
    clean(result, must_fail=True)


@probe(CONFIG, "tune with an inverted range")
def tune_bad_range(project: Project) -> None:
    space = "tune.space={train={learning_rate={uniform=[0.1, 0.001]}}}"
    clean(project.cli("tune", "--trials", "1", sets=[space]), must_fail=True)


@probe(CONFIG, "tune with an unknown key")
def tune_unknown_key(project: Project) -> None:
    space = "tune.space={model={nope={int=[1, 4]}}}"
    clean(project.cli("tune", "--trials", "1", sets=[space]), must_fail=True)


@probe(CONFIG, "tune with an unknown distribution")
def tune_unknown_distribution(project: Project) -> None:
    space = "tune.space={train={learning_rate={normal=[0, 1]}}}"
    clean(project.cli("tune", "--trials", "1", sets=[space]), must_fail=True)


@probe(CONFIG, "file data far bigger than memory")
def sparse_data(project: Project) -> None:
    path = project.dir / "huge.csv"
    if project.task == "image":
        root = image_folder(project.dir / "huge")
        path = root / "cat" / "huge.png"
    header = tabular_csv(4) if project.task == "tabular" else wide_csv(4)
    with path.open("w") as file:
        file.write(header)
        file.truncate(2**42)  # 4 TB, sparse: NUL bytes after the header
    target = root if project.task == "image" else path
    clean(project.cli("train", sets=[f"data.path={target}"], timeout=120))


@probe(CONFIG, "data set of one example per class")
def too_little_data(project: Project) -> None:
    if project.task == "image":
        root = project.dir / "few"
        for number, name in enumerate(("a", "b")):
            png(root / name / "0.png", 16, number * 100)
        path = str(root)
    else:
        rows = (
            ["a,b,label", "1,2,x", "3,4,y"]
            if project.task == "tabular"
            else ["label,s1,s2", "x,1,2", "y,3,4"]
        )
        path = data_file(project, "\n".join(rows) + "\n", "few.csv")
    clean(project.cli("train", sets=[f"data.path={path}"]))


@probe(CONFIG, "data file of a single class")
def single_class(project: Project) -> None:
    path = labelled_data(project, lambda i: "same")
    if project.task == "image":
        path = str(Path(path))  # one class folder only: "same"
    clean(project.cli("train", sets=[f"data.path={path}"]), must_fail=True)


@probe(CONFIG, "task-specific: malformed data")
def malformed_data(project: Project) -> None:
    if project.task == "image":  # an empty image folder, then empty class folders
        (project.dir / "empty").mkdir()
        clean(project.cli("train", sets=["data.path=empty"]), must_fail=True)
        (project.dir / "empty" / "a").mkdir()
        (project.dir / "empty" / "b").mkdir()
        clean(project.cli("train", sets=["data.path=empty"]), must_fail=True)
        return
    if project.task == "sequence":  # ragged rows: more cells than the header
        text = "label,s1,s2\nx,1,2\ny,3,4,5,6\nx,1\n" * 10
    else:  # a row with more cells than the header, one with fewer
        text = "a,b,label\n1,2,x\n3,4,y,9,9\n5,x\n" * 10
    path = data_file(project, text, "ragged.csv")
    clean(project.cli("train", sets=[f"data.path={path}"]))


@probe(CONFIG, "data.path a CSV of only a header")
def header_only(project: Project) -> None:
    if project.task == "image":
        path = project.dir / "header.csv"
        path.write_text("a,b,label\n")
    else:
        path = Path(data_file(project, "a,b,label\n", "header.csv"))
    clean(project.cli("train", sets=[f"data.path={path}"]), must_fail=True)


# --- Training state ---------------------------------------------------------

# Kills training (os._exit) right after the second epoch's checkpoint is written.
KILL_AFTER_TWO = {
    "keras": """
import os, keras
_save = keras.callbacks.BackupAndRestore.on_epoch_end
def on_epoch_end(self, epoch, logs=None):
    _save(self, epoch, logs)
    if epoch == 1:
        os._exit(9)
keras.callbacks.BackupAndRestore.on_epoch_end = on_epoch_end
""",
    "tf": """
import os, tensorflow as tf
_save = tf.train.CheckpointManager.save
def save(self, *args, **kwargs):
    path = _save(self, *args, **kwargs)
    if len(self.checkpoints) == 2:
        os._exit(9)
    return path
tf.train.CheckpointManager.save = save
""",
}
KILL_AFTER_TWO["hybrid"] = KILL_AFTER_TWO["keras"]
STATE_SETS = ["train.epochs=3", "train.run_name=state"]


# Each variant's interrupted run, made once and copied into each probe.
INTERRUPTED: dict[str, Path] = {}


def interrupted(project: Project) -> Project:
    """A run killed after epoch 2 of 3, with its two checkpoints on disk."""
    run_dir = project.dir / "runs" / "state"
    saved = INTERRUPTED.get(project.variant)
    if saved is None:
        kill_after_two_epochs(project)
        saved = Path(tempfile.mkdtemp(dir=project.dir.parents[1])) / "state"
        shutil.copytree(run_dir, saved)
        INTERRUPTED[project.variant] = saved
    else:
        shutil.copytree(saved, run_dir)
    return project


def kill_after_two_epochs(project: Project) -> None:
    sets = TINY[project.task] + QUICK + STATE_SETS
    arguments = ["train"] + [item for value in sets for item in ("--set", value)]
    code = (
        KILL_AFTER_TWO[project.style]
        + f"import sys\nfrom {project.package}.cli import main\n"
        + f"sys.exit(main({arguments!r}))\n"
    )
    result = run([sys.executable, "-c", code], project.dir, project.env())
    if result.returncode != 9:
        raise ProbeFailure(f"could not interrupt training: {last_line(result.text())}")


def resume(project: Project) -> Result:
    return project.cli("train", sets=STATE_SETS)


def state_dir(project: Project) -> Path:
    run_dir = project.dir / "runs" / "state"
    return run_dir / ("checkpoints" if project.style == "tf" else "backup")


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def resumed_truthfully(result: Result, *, damaged: bool, usable: bool) -> None:
    """`damaged`: the latest checkpoint was damaged; `usable`: an older one is fine."""
    clean(result)
    text = result.stdout
    said_resumed = "Resumed" in text
    if result.returncode != 0:
        return  # one line naming what to delete is a fair answer
    if said_resumed and not usable:
        raise ProbeFailure("claims a resume although no checkpoint is readable")
    if damaged and "warning" not in text.lower():
        raise ProbeFailure("no word about the damaged checkpoint")
    if usable and not said_resumed:
        raise ProbeFailure("started afresh although a checkpoint is readable")
    if not usable and "afresh" not in text:
        raise ProbeFailure("restarted without saying so")


def damage(name: str, *, usable: bool, styles: tuple[str, ...] = STYLES):
    """A probe that damages an interrupted run's state, then resumes it."""

    def register(function: Callable[[Path], None]) -> Callable[[Path], None]:
        def check(project: Project) -> None:
            if project.style not in styles:
                return
            interrupted(project)
            function(state_dir(project))
            resumed_truthfully(resume(project), damaged=True, usable=usable)

        STATE[name] = check
        check.styles = styles  # type: ignore[attr-defined]
        return function

    return register


@probe(STATE, "resume after a kill")
def plain_resume(project: Project) -> None:
    interrupted(project)
    resumed_truthfully(resume(project), damaged=False, usable=True)


@damage("latest.weights.h5 missing", usable=True, styles=("keras", "hybrid"))
def weights_missing(backup: Path) -> None:
    (backup / "latest.weights.h5").unlink()


@damage("latest.weights.h5 truncated", usable=True, styles=("keras", "hybrid"))
def weights_truncated(backup: Path) -> None:
    truncate(backup / "latest.weights.h5")


@damage("garbage training_metadata.json", usable=True, styles=("keras", "hybrid"))
def metadata_garbage(backup: Path) -> None:
    (backup / "training_metadata.json").write_text("{garbage")


@damage("both backups truncated", usable=False, styles=("keras", "hybrid"))
def both_truncated(backup: Path) -> None:
    truncate(backup / "latest.weights.h5")
    truncate(backup / "latest.weights.h5.bkp")


@damage("both backup metadata garbage", usable=False, styles=("keras", "hybrid"))
def both_metadata_garbage(backup: Path) -> None:
    (backup / "training_metadata.json").write_text("{garbage")
    (backup / "training_metadata.json.bkp").write_bytes(os.urandom(64))


@damage("binary `checkpoint` file", usable=True, styles=("tf",))
def index_binary(checkpoints: Path) -> None:
    (checkpoints / "checkpoint").write_bytes(os.urandom(200))


@damage("missing `checkpoint` file", usable=True, styles=("tf",))
def index_missing(checkpoints: Path) -> None:
    (checkpoints / "checkpoint").unlink()


@damage("newest ckpt data truncated", usable=True, styles=("tf",))
def newest_truncated(checkpoints: Path) -> None:
    newest = max(checkpoints.glob("ckpt-*.data-*"), key=lambda path: path.name)
    truncate(newest)


@damage("every ckpt truncated", usable=False, styles=("tf",))
def every_truncated(checkpoints: Path) -> None:
    for path in checkpoints.glob("ckpt-*.data-*"):
        truncate(path)


def blocked(relative: str) -> Probe:
    """A file where a folder of the run goes (root ignores read-only folders)."""

    def check(project: Project) -> None:
        path = project.dir / relative.format(
            state="checkpoints" if project.style == "tf" else "backup"
        )
        if path.is_dir():
            shutil.rmtree(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("in the way")
        result = project.cli("train", sets=["train.run_name=blocked"])
        clean(result, must_fail=True)
        if "blocked" not in error_of(result):
            raise ProbeFailure(f"the folder is not named: {error_of(result)}")

    return check


probe(STATE, "run folder not writable")(blocked("runs/blocked"))
probe(STATE, "checkpoint folder not writable")(blocked("runs/blocked/{state}"))
probe(STATE, "runs/ not writable")(blocked("runs"))


@probe(STATE, "run.json garbage")
def record_garbage(project: Project) -> None:
    (project.dir / "runs" / "default" / "run.json").write_bytes(os.urandom(100))
    clean(project.cli("train", sets=["train.run_name=default"]), must_fail=True)
    clean(project.cli("evaluate"))  # keras needs only model.keras to evaluate


@probe(STATE, "trained model deleted, then evaluate")
def model_deleted(project: Project) -> None:
    run_dir = project.dir / "runs" / "default"
    for path in [run_dir / "model.keras", run_dir / "checkpoints"]:
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    clean(project.cli("evaluate"), must_fail=True)


@probe(STATE, "trained model truncated, then evaluate")
def model_truncated(project: Project) -> None:
    run_dir = project.dir / "runs" / "default"
    if project.style == "tf":
        for path in (run_dir / "checkpoints").glob("ckpt-*.data-*"):
            truncate(path)
    else:
        truncate(run_dir / "model.keras")
    clean(project.cli("evaluate"), must_fail=True)


@probe(STATE, "export folder version deleted, then predict")
def export_broken(project: Project) -> None:
    for version in (project.dir / "export").iterdir():
        shutil.rmtree(version / "variables", ignore_errors=True)
    clean(
        project.cli("predict", str(good_inputs(project)), sets=predict_sets(project)),
        must_fail=True,
    )


# --- tfk new and tfk update -------------------------------------------------

TOOL: dict[str, Callable[[Path], None]] = {}


def tfk(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Result:
    return run([sys.executable, "-m", "tfk_scaffold", *args], cwd, env, 120)


def tool_probe(name: str):
    def register(function: Callable[[Path], None]) -> Callable[[Path], None]:
        TOOL[name] = function
        return function

    return register


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout


@tool_probe("new: GIT_DIR / GIT_INDEX_FILE of another repository")
def new_git_env(scratch: Path) -> None:
    other = scratch / "other"
    other.mkdir()
    git("init", "-q", cwd=other)
    (other / "f").write_text("x")
    git("add", "f", cwd=other)
    git("-c", "user.name=a", "-c", "user.email=a@b", "commit", "-qm", "x", cwd=other)
    head = git("rev-parse", "HEAD", cwd=other)
    index = (other / ".git" / "index").read_bytes()
    env = {
        **os.environ,
        "GIT_DIR": str(other / ".git"),
        "GIT_INDEX_FILE": str(other / ".git" / "index"),
        "GIT_AUTHOR_NAME": "a",
        "GIT_AUTHOR_EMAIL": "a@b",
        "GIT_COMMITTER_NAME": "a",
        "GIT_COMMITTER_EMAIL": "a@b",
    }
    clean(tfk("new", "gitenv", "-s", "keras", "-w", "", cwd=scratch, env=env))
    if git("rev-parse", "HEAD", cwd=other) != head:
        raise ProbeFailure("committed into the other repository")
    if (other / ".git" / "index").read_bytes() != index:
        raise ProbeFailure("rewrote the other repository's index")


@tool_probe("new: concurrent --force with different styles")
def new_concurrent(scratch: Path) -> None:
    for attempt in range(3):
        target = scratch / f"race{attempt}"
        commands = [
            [
                sys.executable,
                "-m",
                "tfk_scaffold",
                "new",
                f"race{attempt}",
                "-s",
                style,
                "--no-git",
                "--force",
                "-w",
                "",
                "-o",
                str(scratch),
            ]
            for style in ("keras", "tf")
        ]
        processes = [
            subprocess.Popen(
                command, cwd=scratch, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            for command in commands
        ]
        for process in processes:
            process.communicate(timeout=120)
        record = (target / ".tfk.toml").read_text()
        style = "keras" if 'style = "keras"' in record else "tf"
        model = (target / "src" / f"race{attempt}" / "model.py").read_text()
        if ("import keras" in model) != (style == "keras"):
            raise ProbeFailure(f"mixed files: .tfk.toml says {style}, model.py not")


@tool_probe("new: --force with a folder where a file goes")
def new_force_blocked(scratch: Path) -> None:
    target = scratch / "blocked"
    (target / "README.md").mkdir(parents=True)
    result = tfk("new", "blocked", "--force", "--no-git", "-w", "", cwd=scratch)
    clean(result, must_fail=True)
    if "README.md" not in error_of(result):
        raise ProbeFailure(f"does not name the file: {error_of(result)}")
    if sorted([path.name for path in target.iterdir()]) != ["README.md"]:
        raise ProbeFailure(
            f"partial project: {sorted([path.name for path in target.iterdir()])}"
        )


@tool_probe("new: names that shadow imports or tests")
def new_bad_names(scratch: Path) -> None:
    for name in (
        "certifi",
        "urllib3",
        "test_data",
        "test_config",
        "test-serve",
        "numpy",
        "tensorflow",
        "keras",
    ):
        result = tfk("new", name, "--no-git", "-w", "", cwd=scratch)
        clean(result, must_fail=True)
        if (scratch / name).exists():
            raise ProbeFailure(f"{name}: folder created")


@tool_probe("new: kill -9 leaves no staging folders")
def new_killed(scratch: Path) -> None:
    for delay in (0.3, 0.6, 0.9):
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tfk_scaffold",
                "new",
                "killed",
                "--no-git",
                "-w",
                "",
                "--force",
            ],
            cwd=scratch,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        process.kill()
        process.wait()
    clean(tfk("new", "killed", "--no-git", "-w", "", "--force", cwd=scratch))
    left = [
        name for name in [path.name for path in scratch.iterdir()] if ".tfk-" in name
    ]
    if left:
        raise ProbeFailure(f"staging left: {left}")


@tool_probe("new: symlinked targets and folder mode")
def new_symlinks(scratch: Path) -> None:
    (scratch / "empty").mkdir()
    (scratch / "linked").symlink_to(scratch / "empty")
    (scratch / "dangling").symlink_to(scratch / "gone")
    for name in ("linked", "dangling"):
        clean(tfk("new", name, "--no-git", "-w", "", cwd=scratch), must_work=True)
    old = os.umask(0o022)
    try:
        clean(tfk("new", "moded", "--no-git", "-w", "", cwd=scratch), must_work=True)
    finally:
        os.umask(old)
    mode = (scratch / "moded").stat().st_mode & 0o777
    if mode != 0o755:
        raise ProbeFailure(f"top folder mode {oct(mode)}")


def old_project(scratch: Path, name: str) -> Path:
    """A project recorded as made by 0.3.0, so that `tfk update` has work."""
    clean(tfk("new", name, "--no-git", "-w", "", cwd=scratch), must_work=True)
    record = scratch / name / ".tfk.toml"
    text = record.read_text()
    version = text.split('version = "')[1].split('"')[0]
    record.write_text(text.replace(f'version = "{version}"', 'version = "0.3.0"'))
    return scratch / name


@tool_probe("update: a hostile .tfk.toml version")
def update_version(scratch: Path) -> None:
    for bad in ("", "..", "../..", "/etc", "9.9.9"):
        project = old_project(scratch, "versioned")
        record = project / ".tfk.toml"
        record.write_text(record.read_text().replace('"0.3.0"', f'"{bad}"'))
        before = record.read_bytes()
        result = tfk("update", str(project), cwd=scratch)
        clean(result, must_fail=True)
        if record.read_bytes() != before:
            raise ProbeFailure(f"version {bad!r}: .tfk.toml rewritten")
        shutil.rmtree(project)


@tool_probe("update: CRLF files stay clean")
def update_crlf(scratch: Path) -> None:
    project = old_project(scratch, "crlf")
    readme = project / "README.md"
    readme.write_bytes(readme.read_bytes().replace(b"\n", b"\r\n"))
    clean(tfk("update", str(project), cwd=scratch))
    if b"<<<<<<<" in readme.read_bytes():
        raise ProbeFailure("conflict markers in an unedited CRLF README")


@tool_probe("update: symlinked config.toml stays a symlink")
def update_symlink(scratch: Path) -> None:
    project = old_project(scratch, "symlinked")
    real = scratch / "real-config.toml"
    shutil.move(project / "config.toml", real)
    (project / "config.toml").symlink_to(real)
    clean(tfk("update", str(project), cwd=scratch))
    if not (project / "config.toml").is_symlink():
        raise ProbeFailure("config.toml replaced by a regular file")


@tool_probe("update: a second update after a conflict")
def update_twice(scratch: Path) -> None:
    project = old_project(scratch, "conflicted")
    changed = []
    for path in sorted((project / "src").rglob("*.py")):
        path.write_text("# my edit\n" + path.read_text().replace("def ", "def  ", 1))
        changed.append(path)
    first = tfk("update", str(project), cwd=scratch)
    clean(first)
    marked = [path for path in changed if "<<<<<<<" in path.read_text()]
    if not marked:
        return  # no conflict to test with
    second = tfk("update", str(project), cwd=scratch)
    if second.returncode == 0 and "up to date" in second.text():
        raise ProbeFailure("says up to date while conflict markers remain")
    clean(second)


# --- main -------------------------------------------------------------------


@dataclass
class Tally:
    passed: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)

    def add(self, section: str, ok: bool) -> None:
        table = self.passed if ok else self.failed
        table[section] = table.get(section, 0) + 1


def report(tally: Tally, section: str, variant: str, name: str, check) -> None:
    started = time.monotonic()
    try:
        check()
    except ProbeFailure as failure:
        tally.add(section, False)
        print(f"FAIL  {variant:16} {name}: {failure}", flush=True)
        return
    except Exception as error:  # a harness bug must not stop the others
        tally.add(section, False)
        print(f"FAIL  {variant:16} {name}: harness {error!r}", flush=True)
        return
    tally.add(section, True)
    seconds = time.monotonic() - started
    print(f"PASS  {variant:16} {name} ({seconds:.0f}s)", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--styles", default=",".join(STYLES))
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--only", default="", help="probes whose name has this text")
    parser.add_argument(
        "--sections", default="config,state,tool", help="config, state, tool"
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args()
    sections = args.sections.split(",")
    tables = {"config": CONFIG, "state": STATE}
    if args.list:
        for section, table in [*tables.items(), ("tool", TOOL)]:
            for name in table:
                print(f"{section:7} {name}")
        return 0
    root = Path(tempfile.mkdtemp(prefix="tfk-probes-"))
    tally = Tally()
    try:
        if "tool" in sections:
            for name, check in TOOL.items():
                if args.only in name:
                    scratch = Path(tempfile.mkdtemp(dir=root))
                    report(
                        tally, "tool", "tfk", name, functools.partial(check, scratch)
                    )
        for style in args.styles.split(","):
            for task in args.tasks.split(","):
                run_variant(style, task, root, sections, tables, args.only, tally)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
        else:
            print(f"scratch kept in {root}")
    total = sum(tally.passed.values()) + sum(tally.failed.values())
    for section in sorted({*tally.passed, *tally.failed}):
        print(
            f"{section}: {tally.passed.get(section, 0)} passed, "
            f"{tally.failed.get(section, 0)} failed"
        )
    print(f"total: {total} probes, {sum(tally.failed.values())} failed")
    return min(sum(tally.failed.values()), 100)


def run_variant(style, task, root, sections, tables, only, tally) -> None:
    selected = [
        (section, name, check)
        for section in ("config", "state")
        if section in sections
        for name, check in tables[section].items()
        if only in name and style in getattr(check, "styles", STYLES)
    ]
    if not selected:
        return
    base = generate(style, task, root)
    train_base(base)
    for section, name, check in selected:
        with scratch_copy(base, root) as project:
            report(
                tally, section, base.variant, name, functools.partial(check, project)
            )


@contextlib.contextmanager
def scratch_copy(base: Project, root: Path) -> Iterator[Project]:
    scratch = Path(tempfile.mkdtemp(dir=root))
    try:
        yield base.copy(scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
