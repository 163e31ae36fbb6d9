"""Keep Python templates black-clean: render each with a placeholder package
name, format with black, and write the result back where a template has no
Jinja blocks. Templates with blocks are only reported, to be fixed by hand.

    python scripts/format_templates.py [--check]
"""

from __future__ import annotations

import itertools
import sys

import black

from tfk_scaffold.render import render, template_paths, templates_root
from tfk_scaffold.spec import PARTS, STYLES, TASKS, make_spec

PLACEHOLDER = "zzpkg"


def main(check_only: bool) -> int:
    root = templates_root()
    mode = black.Mode(line_length=88, target_versions={black.TargetVersion.PY311})
    dirty = 0
    for style, task in itertools.product(STYLES, TASKS):
        spec = make_spec(PLACEHOLDER, style, task, PARTS)
        names = template_paths(spec, root)
        for file in render(spec, root):
            if not file.is_python:
                continue
            formatted = black.format_str(file.contents, mode=mode)
            if formatted == file.contents:
                continue
            template = root / names[_template_key(file.path, spec.package)]
            source = template.read_text()
            if check_only or "{%" in source or PLACEHOLDER in source:
                where = template.relative_to(root)
                print(f"not black-clean ({style}, {task}): {where}")
                dirty += 1
                continue
            template.write_text(formatted.replace(PLACEHOLDER, "{{ package }}"))
            print(f"formatted {template.relative_to(root)}")
    return 1 if dirty else 0


def _template_key(path, package):
    from pathlib import PurePosixPath

    return PurePosixPath(str(path).replace(package, "__package__"))


if __name__ == "__main__":
    sys.exit(main("--check" in sys.argv))
