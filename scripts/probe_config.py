"""Hostile `--set` values for every config key of a generated project.

    cd my-project && python ../tfk/scripts/probe_config.py PACKAGE

Each value is tried with `train` on a little synthetic data, in this process
(about 0.5-4 s a probe, so ~20 values x ~40 keys is 10-20 minutes). A probe
passes when the CLI exits 0 or 1 with a one-line error; any exception is a
crash, printed with its last frames. A probe still running after 25 s (a huge
but valid train.epochs) is reported as slow and stopped. Extra arguments keep
only the keys that start with one of them:

    python probe_config.py PACKAGE data. train.learning_rate
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import io
import signal
import sys
import traceback
import typing

VALUES = [
    '""',
    "-1",
    "0",
    "1",
    "2",
    "0.5",
    "1e308",
    "1e-320",
    "9999999999999",
    "nan",
    "inf",
    "-inf",
    "[]",
    "[0]",
    "[-1, 2]",
    "{}",
    "true",
    '"' + "x" * 300 + '"',
    '"../x"',
    '"a\\u0000b"',
]
SMALL = ["data.num_samples=60", "train.epochs=1", "train.min_steps=0"]
SECONDS = 25


class Slow(BaseException):
    """Raised by the alarm in a probe that runs too long."""


def stop_slow_probe(*_: object) -> None:
    raise Slow


def config_keys(cls: type, prefix: str = "") -> list[str]:
    keys = []
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        if dataclasses.is_dataclass(hints[field.name]):
            keys += config_keys(hints[field.name], f"{prefix}{field.name}.")
        else:
            keys.append(prefix + field.name)
    return keys


def probe(cli, key: str, value: str, number: int) -> str:
    """One `train` run: its exit code and last stderr line, or why it failed."""
    overrides = [*SMALL, f"train.run_name=probe-{number}", f"{key}={value}"]
    argv = ["train", *(word for item in overrides for word in ("--set", item))]
    stderr = io.StringIO()
    signal.alarm(SECONDS)
    try:
        with (
            contextlib.redirect_stdout(io.StringIO()),
            contextlib.redirect_stderr(stderr),
        ):
            code = cli.main(argv)
    except SystemExit as exit:
        code = exit.code
    except Slow:
        return "SLOW"
    except Exception as error:  # what the probe is looking for
        frames = "".join(traceback.format_tb(error.__traceback__)[-3:])
        return f"CRASH {type(error).__name__}: {error}\n{frames}"
    finally:
        signal.alarm(0)
    last = (stderr.getvalue().strip().splitlines() or [""])[-1]
    return f"{code} {last[:160]}"


def main(package: str, prefixes: list[str]) -> int:
    sys.path.insert(0, "src")  # run from the project's folder
    cli = importlib.import_module(f"{package}.cli")
    config = importlib.import_module(f"{package}.config")
    signal.signal(signal.SIGALRM, stop_slow_probe)
    keys = [
        key
        for key in config_keys(config.Config)
        if not prefixes or key.startswith(tuple(prefixes))
    ]
    probes = [(key, value) for key in keys for value in VALUES]
    crashes = 0
    for number, (key, value) in enumerate(probes):
        result = probe(cli, key, value, number)
        crashes += result.startswith("CRASH")
        print(f"{key}={value[:24]}: {result}", flush=True)
    print(f"{len(probes)} probes, {crashes} crashes")
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
