"""The `tfk` command: parse arguments, call one function, print its report.

Nothing here imports TensorFlow, and rendering is imported only by the commands
that need it, so `tfk --help` stays instant.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal, ParamSpec, TypeVar

import typer

from tfk_scaffold.errors import TfkError
from tfk_scaffold.spec import (
    DEFAULT_STYLE,
    DEFAULT_TASK,
    INSTALL,
    PARTS,
    STYLES,
    TASKS,
    parse_parts,
)

ABOUT = "Bootstrap tested, runnable TensorFlow projects: keras, tf or hybrid style."

app = typer.Typer(
    help=ABOUT,
    no_args_is_help=True,
    # Plain help: the rich one labels every flag "<bool>", as if it took a value.
    rich_markup_mode=None,
    add_completion=True,
    pretty_exceptions_enable=False,
)

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")


def reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """The one place where tfk errors become messages and exit codes."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except TfkError as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(error.exit_code) from None
        except KeyboardInterrupt:
            typer.echo("interrupted; nothing was written", err=True)
            raise typer.Exit(130) from None

    return wrapper


STYLE_HELP = (
    "keras | tf | hybrid (see `tfk styles`). Prompted for on a terminal, else hybrid."
)
TASK_HELP = "tabular | sequence | image (see `tfk styles`)."
WITH_HELP = (
    f"Optional parts, comma-separated, or all: {', '.join(PARTS)} (see `tfk styles`)."
    " Prompted for on a terminal, else none."
)
PRESET_HELP = (
    "A team preset (TOML): default style, task and parts, config.toml values and "
    "a folder of the team's own templates. Options given here win."
)


def _version(value: bool) -> None:
    if value:
        from tfk_scaffold.release import describe

        typer.echo(describe())
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    """Bootstrap tested, runnable TensorFlow projects: keras, tf or hybrid style."""


@app.command()
@reports_errors
def new(
    name: Annotated[
        str,
        typer.Argument(
            metavar="NAME", help="Project name, e.g. my-model (package: my_model)."
        ),
    ],
    style: Annotated[
        str | None, typer.Option("--style", "-s", metavar="STYLE", help=STYLE_HELP)
    ] = None,
    task: Annotated[
        str | None,
        typer.Option(
            "--task", "-t", metavar="TASK", help=TASK_HELP, show_default=False
        ),
    ] = None,
    output_dir: Annotated[
        Path,
        typer.Option(
            "--output-dir",
            "-o",
            metavar="DIR",
            help="Parent directory of the new project.",
        ),
    ] = Path(),
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Write into an existing directory; replaced files are listed.",
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List the files; write nothing.")
    ] = False,
    git: Annotated[
        bool,
        typer.Option("--git/--no-git", help="git init and commit the new project."),
    ] = True,
    parts: Annotated[
        str | None,
        typer.Option(
            "--with", "-w", metavar="PARTS", help=WITH_HELP, show_default=False
        ),
    ] = None,
    preset: Annotated[
        Path | None,
        typer.Option("--preset", metavar="FILE", help=PRESET_HELP, show_default=False),
    ] = None,
) -> None:
    """Write a complete, runnable, tested TensorFlow project."""
    from tfk_scaffold.generate import new_project, plan_project
    from tfk_scaffold.preset import load_preset
    from tfk_scaffold.spec import make_spec

    team = load_preset(preset, output_dir / name) if preset else None
    style = _chosen(style, team and team.style, _ask_style)
    task = _chosen(task, team and team.task, lambda: DEFAULT_TASK)
    chosen = _chosen(
        None if parts is None else parse_parts(parts), team and team.parts, _ask_parts
    )
    spec = make_spec(name, style, task, chosen, team)
    if dry_run:
        plan = plan_project(spec, output_dir, force=force)
        typer.echo(f"would write {len(plan.files)} files into {plan.target}/:")
        for file in plan.files:
            mark = "  (replaces existing)" if str(file.path) in plan.overwrites else ""
            typer.echo(f"  {file.path}{mark}")
        return
    report = new_project(spec, output_dir, force=force, git=git)
    for path in report.overwritten:
        typer.echo(f"replaced {report.target / path}")
    with_parts = f", with {', '.join(spec.parts)}" if spec.parts else ""
    with_preset = f", preset {preset}" if preset else ""
    typer.echo(
        f"created {report.target}/ ({spec.style} style, {spec.task} task"
        f"{with_parts}{with_preset}, {len(report.written)} files)"
    )
    if report.git_note:
        typer.echo(report.git_note)
    typer.echo(
        f"\nnext:\n  cd {report.target}\n  {INSTALL}\n"
        f"  python -m {spec.package} train\n  pytest"
    )


@app.command()
@reports_errors
def update(
    path: Annotated[
        Path,
        typer.Argument(metavar="PATH", help="The project to update (holds .tfk.toml)."),
    ] = Path(),
    style: Annotated[
        str | None,
        typer.Option("--style", "-s", metavar="STYLE", help="Switch to this style."),
    ] = None,
    task: Annotated[
        str | None,
        typer.Option("--task", "-t", metavar="TASK", help="Switch to this task."),
    ] = None,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Exit 1 and list the files if an update waits; write nothing.",
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the diff; write nothing.")
    ] = False,
    abort: Annotated[
        bool,
        typer.Option(
            "--abort", help="Undo an update left with conflicts (git merge --abort)."
        ),
    ] = False,
    add: Annotated[
        str,
        typer.Option(
            "--with", metavar="PARTS", help="Add these parts (comma-separated, or all)."
        ),
    ] = "",
    remove: Annotated[
        str,
        typer.Option(
            "--without",
            metavar="PARTS",
            help="Remove these parts (your edits are kept).",
        ),
    ] = "",
    preset: Annotated[
        Path | None,
        typer.Option(
            "--preset",
            metavar="FILE",
            help="Follow this team preset from now on (or its new path).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Merge this tfk's templates into the project, keeping your edits.

    In a git project the update is a git merge (commit your work first). Exit
    code 1 when files need their conflict markers resolved, or with --check
    when an update waits.
    """
    from tfk_scaffold.update import (
        abort_update,
        apply_update,
        diff,
        plan_update,
        recover,
        summary,
    )
    from tfk_scaffold.update import check as checked

    if abort:
        typer.echo(abort_update(path))
        return
    if not (check or dry_run):
        recover(path)
    plan = plan_update(
        path,
        style=style,
        task=task,
        add=parse_parts(add),
        remove=parse_parts(remove),
        preset=preset,
    )
    if check:
        lines, waiting = checked(plan), bool(plan.changes)
    elif dry_run:
        typer.echo(diff(plan), nl=False)
        lines, waiting = summary(plan, dry_run=True), bool(plan.conflicts)
    else:
        outcome = apply_update(plan)
        lines, waiting = outcome.lines, outcome.conflicts
    for line in lines:
        typer.echo(line)
    if waiting:
        raise typer.Exit(1)


def _chosen(given: T | None, preset: T | None, otherwise: Callable[[], T]) -> T:
    """An option as given (even empty, which the spec then refuses), else the
    team preset's value, else a question or the default."""
    if given is not None:
        return given
    return preset if preset is not None else otherwise()


def _ask_parts() -> tuple[str, ...]:
    if not sys.stdin.isatty():
        return ()
    for choice, description in PARTS.items():
        typer.echo(f"  {choice:<7} {description}")
    answer = typer.prompt(
        "parts (comma-separated, all, or none)", default="none", show_default=True
    )
    return () if answer.strip() == "none" else parse_parts(answer)


def _ask_style() -> str:
    if not sys.stdin.isatty():
        return DEFAULT_STYLE
    for choice, description in STYLES.items():
        typer.echo(f"  {choice:<7} {description}")
    # typer >= 0.29 validates a Literal and asks again on anything else.
    choices = Literal[tuple(STYLES)]  # type: ignore[valid-type]
    return typer.prompt("style", default=DEFAULT_STYLE, type=choices)


@app.command()
def styles() -> None:
    """Show the styles and tasks, with an example for each."""
    typer.echo("Styles (same task, same data, same results):")
    for choice, description in STYLES.items():
        typer.echo(
            f"  {choice:<7} {description}\n          tfk new demo --style {choice}"
        )
    typer.echo("\nTasks:")
    for choice, description in TASKS.items():
        typer.echo(
            f"  {choice:<9} {description}\n            tfk new demo --task {choice}"
        )
    typer.echo("\nOptional parts (the core trains, evaluates, exports and predicts):")
    for choice, description in PARTS.items():
        typer.echo(
            f"  {choice:<9} {description}\n            tfk new demo --with {choice}"
        )


def main() -> None:
    """Console entry point."""
    app()
