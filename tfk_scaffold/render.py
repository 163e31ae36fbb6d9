"""Step 2 of the pipeline: a ProjectSpec -> the project's files, in memory only.

Templates live in `templates/`, in layers: `common/` holds what every variant
shares, `fit/` what the two styles that train with Keras's `fit` (keras,
hybrid) share, `<style>/` what one style does differently, `tasks/<task>/` what one
task does differently and `parts/<part>/` the files an optional part adds; a
later layer's file replaces an earlier one of the same path. `snippets/<task>/`
holds task-specific pieces that style templates `{% include %}`, so a style's
shared logic is written once for every task. A team preset's overlay is the
last layer, and its config values go into config.toml (see preset.py). A
`__package__` path part becomes the package name and a trailing `.j2` is
dropped; a template that renders to nothing for a variant writes no file.
"""

from __future__ import annotations

import contextlib
import tomllib
from functools import cache
from pathlib import Path, PurePosixPath

import jinja2

from tfk_scaffold.errors import TemplateBugError, UserError
from tfk_scaffold.files import File
from tfk_scaffold.preset import Preset, apply_config, overlay_templates
from tfk_scaffold.release import templates_hash
from tfk_scaffold.spec import (
    PART_KEYS,
    PART_OPTIONS,
    PARTS,
    STYLES,
    TASKS,
    ProjectSpec,
    is_for,
)

PACKAGE_TOKEN = "__package__"


def templates_root() -> Path:
    """`templates/` inside an installed wheel, else at the top of a source checkout."""
    here = Path(__file__).resolve().parent
    installed = here / "templates"
    return installed if installed.is_dir() else here.parent / "templates"


@cache
def _environment(*roots: Path) -> jinja2.Environment:
    """Templates from the first of `roots` that has them."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(roots),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
        bytecode_cache=_bytecode_cache(),
    )


class _QuietBytecodeCache(jinja2.FileSystemBytecodeCache):
    """Jinja's own cache of compiled templates, in a private temp directory and
    checked against each template's source; a cache that cannot be read or
    written is only slower, never an error."""

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with contextlib.suppress(OSError):
            super().load_bytecode(bucket)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """Parsing and compiling the templates is ~30 ms of a ~180 ms `tfk new`;
    later runs load them compiled."""
    try:
        return _QuietBytecodeCache()
    except (OSError, RuntimeError):  # no safe temp directory: compile each time
        return None


def template_paths(
    spec: ProjectSpec, root: Path | None = None
) -> dict[PurePosixPath, str]:
    """Output path (with the package token) -> template name, later layers winning."""
    root = root or templates_root()
    chosen: dict[PurePosixPath, str] = {}
    fit = ["fit"] if spec.style != "tf" else []  # keras and hybrid train with fit
    layers = ["common", *fit, spec.style, f"tasks/{spec.task}"]
    for layer in [*layers, *(f"parts/{part}" for part in spec.parts)]:
        base = root / layer
        for source in sorted(base.rglob("*")):
            if source.is_file() and "__pycache__" not in source.parts:
                relative = PurePosixPath(source.relative_to(base).as_posix())
                if relative.suffix == ".j2":
                    relative = relative.with_suffix("")
                chosen[relative] = f"{layer}/{source.relative_to(base).as_posix()}"
    return chosen


def render(spec: ProjectSpec, root: Path | None = None) -> list[File]:
    """Render every template for `spec`; touches no file outside the template
    folders."""
    root = root or templates_root()
    context = {
        **spec.as_dict(),
        "styles": STYLES,
        "tasks": TASKS,
        "all_parts": PARTS,
        "absent_options": _absent(PART_OPTIONS, spec),
        "absent_keys": _absent(PART_KEYS, spec),
        # Training loops written out in the project (the tf style's, the cluster
        # part's multi-worker loop) rather than `fit`: they keep checkpoints.
        "own_loops": spec.style == "tf" or "cluster" in spec.parts,
        "templates_hash": templates_hash(root),
    }
    rendered = _render(_environment(root), template_paths(spec, root), spec, context)
    files = {path: File(path, text) for path, text in rendered.items()}
    if spec.preset is not None:
        preset = spec.preset
        overlay = _render_overlay(preset, root, spec, context)
        files |= {
            path: File(path, text, str(preset.path)) for path, text in overlay.items()
        }
        config = files[PurePosixPath("config.toml")]
        variant = f"{spec.style}/{spec.task}"
        try:
            configured = apply_config(
                config.contents,
                preset,
                variant,
                without=[part for part in PARTS if part not in spec.parts],
            )
        except tomllib.TOMLDecodeError as error:
            raise UserError(
                f"preset {preset.path}: its config.toml is not valid TOML: {error}"
            ) from None
        files[config.path] = File(config.path, configured, config.preset)
    return [files[path] for path in sorted(files)]


def _absent(names: dict[str, str], spec: ProjectSpec) -> dict[str, str]:
    """The options or config keys of the parts `spec` could have but has not."""
    return {
        name: part
        for name, part in names.items()
        if part not in spec.parts and is_for(part, spec.task)
    }


def _render(
    environment: jinja2.Environment,
    templates: dict[PurePosixPath, str],
    spec: ProjectSpec,
    context: dict[str, object],
) -> dict[PurePosixPath, str]:
    files = {}
    for output, name in sorted(templates.items()):
        path = PurePosixPath(str(output).replace(PACKAGE_TOKEN, spec.package))
        try:
            contents = environment.get_template(name).render(context)
        except jinja2.TemplateError as error:
            raise TemplateBugError(
                f"template {name} failed to render: {error}"
            ) from error
        except UnicodeDecodeError as error:
            raise TemplateBugError(f"template {name} is not UTF-8 text") from error
        except RecursionError as error:
            raise TemplateBugError(
                f"template {name} includes or extends itself, endlessly"
            ) from error
        if contents.strip():  # a template with nothing for this variant
            files[path] = contents
    return files


def _render_overlay(
    preset: Preset, root: Path, spec: ProjectSpec, context: dict[str, object]
) -> dict[PurePosixPath, str]:
    """The preset's own files: `.j2` ones rendered (they may include tfk's
    templates), the others copied as they are."""
    if preset.overlay is None:
        return {}
    templates = overlay_templates(preset)
    jinja = {out: name for out, name in templates.items() if name.endswith(".j2")}
    try:
        files = _render(_environment(preset.overlay, root), jinja, spec, context)
    except TemplateBugError as error:
        raise UserError(f"preset {preset.path}: {error}") from None
    for output, name in templates.items():
        if output not in jinja:
            path = PurePosixPath(str(output).replace(PACKAGE_TOKEN, spec.package))
            files[path] = _read_text(preset.overlay / name, preset)
    return files


def _read_text(file: Path, preset: Preset) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UserError(
            f"preset {preset.path}: {file} is not UTF-8 text; tfk writes text only"
        ) from None
