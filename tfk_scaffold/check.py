"""Step 3 of the pipeline: refuse anything unusable, format what needs it.

Templates are kept black-clean for every valid spec (the test suite proves it
over generated names), and names enter Python code only in short lines. So a
rendered file can only fall out of black's style through an over-long line;
only such files pay for black (~0.3 ms a line). Every Python file is compiled.
"""

from __future__ import annotations

import re
from dataclasses import replace

from tfk_scaffold.errors import TemplateBugError, UserError
from tfk_scaffold.files import File

LINE_LENGTH = 88
# `${{ ... }}` is GitHub Actions syntax, not a leftover of ours.
_LEFTOVER = re.compile(r"(?<!\$)\{\{|\{%|\{#")


def check(files: list[File]) -> list[File]:
    """Return the files ready to write, or raise TemplateBugError."""
    return [_check_file(file) for file in files]


def _check_file(file: File) -> File:
    if file.preset is not None:
        return _check_preset_file(file)
    leftover = _LEFTOVER.search(file.contents)
    if leftover:
        line = file.contents.count("\n", 0, leftover.start()) + 1
        raise TemplateBugError(f"{file.path}:{line} still holds template syntax")
    if not file.is_python:
        return file
    _compile(file)
    if needs_formatting(file.contents):
        file = replace(file, contents=format_python(file.contents))
    return file


def _check_preset_file(file: File) -> File:
    """A team's own file: its text is the team's (`{{` may be meant), its
    Python must compile and is formatted as the project's CI expects."""
    if not file.is_python:
        return file
    try:
        _compile(file)
    except TemplateBugError as error:
        raise UserError(f"{error} (from preset {file.preset})") from None
    return replace(file, contents=format_python(file.contents))


def _compile(file: File) -> None:
    try:
        compile(file.contents, str(file.path), "exec", dont_inherit=True)
    except SyntaxError as error:
        raise TemplateBugError(
            f"{file.path}:{error.lineno} does not compile: {error.msg}"
        ) from error


def needs_formatting(source: str) -> bool:
    return any(
        len(line) > LINE_LENGTH or line != line.rstrip() for line in source.splitlines()
    )


def format_python(source: str) -> str:
    import black  # imported only when needed: black costs ~0.13 s to import

    mode = black.Mode(
        line_length=LINE_LENGTH, target_versions={black.TargetVersion.PY311}
    )
    return black.format_str(source, mode=mode)
