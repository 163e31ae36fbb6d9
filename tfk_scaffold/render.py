"""Step 2 of the pipeline: a ProjectSpec -> the project's files, in memory only.

Templates live in `templates/`: `common/` holds what every style shares and
`<style>/` what one style does differently (a style file replaces the common file
of the same path). A `__package__` path part becomes the package name and a
trailing `.j2` is dropped.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path, PurePosixPath

import jinja2

from tfk_scaffold.errors import TemplateBugError
from tfk_scaffold.files import File
from tfk_scaffold.spec import STYLES, TASKS, ProjectSpec

PACKAGE_TOKEN = "__package__"


def templates_root() -> Path:
    """`templates/` inside an installed wheel, else at the top of a source checkout."""
    here = Path(__file__).resolve().parent
    installed = here / "templates"
    return installed if installed.is_dir() else here.parent / "templates"


@cache
def _environment(root: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(root),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


def template_paths(style: str, root: Path | None = None) -> dict[PurePosixPath, str]:
    """Output path (with the package token) -> template name, style files winning."""
    root = root or templates_root()
    chosen: dict[PurePosixPath, str] = {}
    for layer in ("common", style):
        base = root / layer
        for source in sorted(base.rglob("*")):
            if source.is_file() and "__pycache__" not in source.parts:
                relative = PurePosixPath(source.relative_to(base).as_posix())
                if relative.suffix == ".j2":
                    relative = relative.with_suffix("")
                chosen[relative] = f"{layer}/{source.relative_to(base).as_posix()}"
    return chosen


def render(spec: ProjectSpec, root: Path | None = None) -> list[File]:
    """Render every template for `spec`; touches no file outside `templates/`."""
    root = root or templates_root()
    environment = _environment(root)
    context = {**spec.as_dict(), "styles": STYLES, "tasks": TASKS}
    files = []
    for output, name in sorted(template_paths(spec.style, root).items()):
        path = PurePosixPath(str(output).replace(PACKAGE_TOKEN, spec.package))
        try:
            contents = environment.get_template(name).render(context)
        except jinja2.TemplateError as error:
            raise TemplateBugError(
                f"template {name} failed to render: {error}"
            ) from error
        files.append(File(path, contents))
    return files
