"""`tfk update`: bring a generated project up to this tfk, keeping every user edit.

A three-way merge, as git merges branches:

- base: exactly what tfk wrote last time. In a git project it is the newest
  render tfk committed in HEAD's history (`history.find_renders`): the first
  commit of `tfk new`, then each update's render. That commit exists for every project
  tfk ever wrote, including those of the early builds that all called
  themselves 0.1.0 while their templates changed. Without such a commit
  (`--no-git`, squashed history) or when the newest was rebased or squashed
  into a commit of the team's, the base is re-rendered from the template set
  named in `.tfk.toml` (version and hash), if this tfk ships it (`release.py`);
  otherwise an older render in the history is the base, or the error names
  the missing base.
- yours: the project as committed (git) or on disk (no git).
- tfk: the spec, possibly changed (`--style`, `--task`), rendered with this tfk.

With git the merge is git's own (renames, diff3 markers, a merge in progress
that `git merge --abort` undoes); without git each file is merged with `git
merge-file` and replaced atomically. Everything but `apply_update` and
`abort_update` only reads.
"""

from __future__ import annotations

import difflib
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import NoReturn

from tfk_scaffold import __version__, history
from tfk_scaffold.conflicts import resolve
from tfk_scaffold.errors import UserError
from tfk_scaffold.files import File
from tfk_scaffold.generate import build
from tfk_scaffold.preset import load_preset
from tfk_scaffold.record import (
    RECORD,
    Record,
    read_record,
    release_number,
    with_preset,
)
from tfk_scaffold.release import released_templates, shipped_hash
from tfk_scaffold.render import PACKAGE_TOKEN, template_paths
from tfk_scaffold.spec import (
    ALL_PARTS,
    INSTALL,
    ProjectSpec,
    check_part_names,
    make_spec,
    parts_for,
)
from tfk_scaffold.write import update_in_place

TEMPORARY = re.compile(r"\..+\.tfk-[A-Za-z0-9_]{8}")
PYPROJECT = PurePosixPath("pyproject.toml")
REINSTALL = (
    "pyproject.toml changed: install the project again for its dependencies, "
    f"{INSTALL} (or the extras you use)"
)
MARKERS = (re.compile(r"^<<<<<<<( |$)", re.M), re.compile(r"^>>>>>>>( |$)", re.M))
YOURS, TFK = "yours", "tfk"
# How `summary` words a change when `--dry-run` only says what would happen.
WOULD = {
    "updated": "would update",
    "added": "would add",
    "removed": "would remove",
    "conflict": "would conflict",
}
# How `git diff --name-status` letters read in the summary of a git update.
GIT_KINDS = {
    "M": "updated",
    "T": "updated",
    "R": "updated",
    "A": "added",
    "D": "removed",
}


@dataclass(frozen=True)
class Change:
    """One file `tfk update` changes: `new` is None for a removal."""

    path: PurePosixPath
    kind: str  # "updated", "added", "removed" or "conflict"
    old: str | None
    new: str | None


@dataclass
class UpdatePlan:
    project: Path
    old: ProjectSpec
    new: ProjectSpec
    base: history.Tree
    theirs: history.Tree
    # A git project: the update is a git merge, else each file is merged alone.
    git: bool = False
    # The render tfk committed last, when the project's git history holds it.
    base_commit: str | None = None
    layout: history.Layout | None = None
    changes: list[Change] = field(default_factory=list)
    # Files tfk would have changed but leaves alone, with the reason.
    kept: list[tuple[PurePosixPath, str]] = field(default_factory=list)

    @property
    def conflicts(self) -> list[PurePosixPath]:
        return [change.path for change in self.changes if change.kind == "conflict"]

    def writes(self) -> dict[PurePosixPath, str | None]:
        """Path -> new text (None: remove), the record last: an interrupted update
        keeps the old record, so the next run still merges against the old base."""
        ordered = sorted(self.changes, key=lambda change: change.path == RECORD)
        return {change.path: change.new for change in ordered}


def plan_update(
    project: Path,
    *,
    style: str | None = None,
    task: str | None = None,
    add: tuple[str, ...] = (),
    remove: tuple[str, ...] = (),
    preset: Path | None = None,
    templates: Path | None = None,
) -> UpdatePlan:
    """Everything `tfk update` would do; reads the project, writes nothing.

    `add` and `remove` are parts to add or remove; `preset` a team preset to
    follow from now on. `templates` replaces this tfk's templates (the tests
    use it to stand for a newer release).
    """
    record = read_record(project)
    made_by = record.spec.tfk_version
    if release_number(made_by) > release_number(__version__):
        raise UserError(
            f"{project} was made by tfk {made_by}, newer than this tfk "
            f"{__version__}, whose templates it cannot know; upgrade tfk first "
            "(pip install -U tfk-scaffold)"
        )
    old = with_preset(project, record, preset)
    both = sorted(set(add) & set(remove))
    if both:
        raise UserError(f"--with and --without both name {', '.join(both)}")
    if ALL_PARTS in add:
        add = parts_for(task or old.task)
    _check_removable(project, remove, old.parts)
    remove = old.parts if ALL_PARTS in remove else remove
    parts = [part for part in (*old.parts, *add) if part not in remove]
    follows = load_preset(preset, project) if preset else old.preset
    new = make_spec(old.name, style or old.style, task or old.task, parts, follows)
    theirs = history.Tree(_by_path(build(new, templates)))
    repository = history.is_repository(project)
    if repository:
        _refuse_unfinished_merge(project)
    renders = history.find_renders(project) if repository else None
    if renders and renders.newest and not renders.rewritten:
        base = history.read_tree(project, renders.newest)
        return _plan_git(project, old, new, base, theirs, renders.newest)
    templates_then = released_templates(record.templates) if record.templates else None
    if templates_then is None and renders and renders.newest:
        # The last render was rebased or squashed away and its templates are
        # not shipped: an older render of tfk's is a safe base (what both
        # sides changed since then shows as a conflict, never as a revert).
        base = history.read_tree(project, renders.newest)
        return _plan_git(project, old, new, base, theirs, renders.newest)
    base = history.Tree(
        _by_path(build(old, templates_then or _no_base(project, record, repository)))
    )
    if repository:  # history squashed: merge from the re-rendered base
        return _plan_git(project, old, new, base, theirs, None)
    _refuse_markers(project, sorted(base.files.keys() | theirs.files.keys()))
    plan = UpdatePlan(project, old, new, base, theirs)
    for path in sorted(base.files.keys() | theirs.files.keys()):
        _plan_file(plan, path, base.files.get(path), theirs.files.get(path))
    return plan


def _plan_git(
    project: Path,
    old: ProjectSpec,
    new: ProjectSpec,
    base: history.Tree,
    theirs: history.Tree,
    commit: str | None,
) -> UpdatePlan:
    layout = history.layout(project, base, commit)
    _refuse_markers(project, history.marked(project))
    plan = UpdatePlan(
        project, old, new, base, theirs, git=True, base_commit=commit, layout=layout
    )
    for path in sorted(layout.deleted):
        if theirs.files.get(path, base.files[path]) != base.files[path]:
            plan.kept.append((path, "you deleted it; it stays deleted"))
    before, after = layout.adapt(base), layout.adapt(theirs)
    changed = [
        path
        for path in sorted(before.files.keys() | after.files.keys())
        if before.files.get(path) != after.files.get(path)
    ]
    yours = history.read_files(project, "HEAD", changed)
    for path in changed:
        was, now = before.files.get(path), after.files.get(path)
        kind = "added" if was is None else "removed" if now is None else "updated"
        if _would_conflict(path, yours.get(path), was, now):
            kind = "conflict"
        plan.changes.append(Change(path, kind, was, now))
    return plan


def _would_conflict(
    path: PurePosixPath, ours: str | None, base: str | None, theirs: str | None
) -> bool:
    """Whether git's merge of the template change into the committed file
    (None: none there) leaves a conflict: what --dry-run and --check foresee."""
    if ours is None:  # deleted on your side: git keeps it deleted unless tfk edits
        return base is not None and theirs is not None
    if theirs is None:  # tfk drops it: a conflict only if you edited it
        return ours != base
    return merge_endings(path, ours, base or "", theirs)[1]


def _check_removable(
    project: Path, remove: tuple[str, ...], has: tuple[str, ...]
) -> None:
    """`--without` names only parts the project has: removing one it lacks
    is a typo or a wrong project, never "up to date"."""
    check_part_names(remove)
    for name in remove:
        if name != ALL_PARTS and name not in has:
            raise UserError(
                f"{project} has no {name} part; its parts: {', '.join(has) or 'none'}"
            )


def _no_base(project: Path, record: Record, repository: bool) -> NoReturn:
    """Neither the history nor this tfk holds what tfk last rendered."""
    version = record.spec.tfk_version
    made_by = (
        f"tfk {version} (templates {record.templates})"
        if record.templates
        else f"a tfk {version} build (before 0.2.0 every build was 0.1.0, with "
        "changing templates)"
    )
    where = (
        "its git history holds no commit `Generate "
        f"{record.spec.name} with tfk` nor a `{history.TRAILER}` commit (a shallow "
        "clone or squashed history drops them: `git fetch --unshallow`)"
        if repository
        else "it is not a git repository whose history holds tfk's first commit"
    )
    raise UserError(
        f"no base to merge {project} from: it was made by {made_by}, whose "
        f"templates tfk {__version__} does not ship, and {where}; restore that "
        "history, or update with the tfk release that made it"
    )


def _refuse_unfinished_merge(project: Path) -> None:
    if not history.merging(project):
        return
    left = history.unmerged(project)
    todo = (
        f"resolve the conflicts in {', '.join(map(str, left))} (`git mergetool` "
        "helps), `git add` them and `git commit`"
        if left
        else "every conflict is resolved: `git commit` to finish it"
    )
    raise UserError(
        f"an update (or merge) is still in progress in {project}: {todo}; or run "
        "`tfk update --abort` to restore the tree as it was"
    )


def _refuse_markers(project: Path, paths: list[PurePosixPath]) -> None:
    """A rerun never merges over conflict markers: they would nest."""
    marked = [path for path in paths if _has_markers(project / path)]
    if marked:
        raise UserError(
            "conflict markers from an earlier update remain in "
            f"{', '.join(map(str, marked))}: resolve them, then run tfk update again"
        )


def _has_markers(file: Path) -> bool:
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return all(marker.search(text) for marker in MARKERS)


def _by_path(files: list[File]) -> dict[PurePosixPath, str]:
    return {file.path: file.contents for file in files}


def _plan_file(
    plan: UpdatePlan, path: PurePosixPath, base: str | None, theirs: str | None
) -> None:
    ours = _read(plan.project, path)
    where = _destination(plan.project, path)
    if where is None:
        if theirs != base:
            plan.kept.append((path, "a symlink out of the project; tfk leaves it"))
        return
    if path == RECORD:  # tfk's own record: always the new spec and version
        kind, new = "updated", theirs
    elif ours is None:
        if base is not None:
            if theirs is not None and theirs != base:
                plan.kept.append((path, "you deleted it; it stays deleted"))
            return
        kind, new = "added", theirs
    elif theirs is None:
        if ours != base and (base is None or ours != _crlf(base)):
            plan.kept.append((path, "tfk dropped it; you edited it, so it stays"))
            return
        kind, new = "removed", None
    else:
        new, conflicted = merge_endings(path, ours, base or "", theirs)
        kind = "conflict" if conflicted else "updated"
    if new != ours:
        plan.changes.append(Change(where, kind, ours, new))


def _destination(project: Path, path: PurePosixPath) -> PurePosixPath | None:
    """Where to write `path`: through a symlink to its target inside the project
    (the link stays a link), None for a link that leaves the project."""
    file = project / path
    if not file.is_symlink():
        return path
    target = file.resolve()
    root = project.resolve()
    if not target.is_relative_to(root) or target == root:
        return None
    return PurePosixPath(target.relative_to(root).as_posix())


def _read(project: Path, path: PurePosixPath) -> str | None:
    file = project / path
    if not file.exists():
        return None
    try:
        return file.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"cannot read {file} as UTF-8 text: {error}") from None


def _crlf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def merge_endings(
    path: PurePosixPath, ours: str, base: str, theirs: str
) -> tuple[str, bool]:
    """`merge` in the line endings of the user's file: a CRLF file stays CRLF
    and gets only the template's changes, never a whole-file conflict."""
    if "\r\n" not in ours:
        return merge(path, ours, base, theirs)
    return merge(path, ours, _crlf(base), _crlf(theirs))


def merge(path: PurePosixPath, ours: str, base: str, theirs: str) -> tuple[str, bool]:
    """Three-way merge of one file: (merged text, whether it holds conflicts)."""
    if ours == theirs or theirs == base:
        return ours, False
    if ours == base:
        return theirs, False
    executable = shutil.which("git")
    if executable is None:
        raise UserError(
            f"merging your edits to {path} needs git (`git merge-file`); install git"
        )
    with tempfile.TemporaryDirectory(prefix="tfk-merge-") as scratch:
        names = []
        for label, text in ((YOURS, ours), ("base", base), (TFK, theirs)):
            name = Path(scratch) / label
            name.write_bytes(text.encode("utf-8"))
            names.append(str(name))
        labels = ["-L", YOURS, "-L", "base", "-L", TFK]
        result = subprocess.run(
            [executable, "merge-file", "--diff3", "-p", *labels, *names],
            capture_output=True,
            cwd=scratch,
        )
    if result.returncode > 127:  # git: negative on error, else the conflict count
        reason = result.stderr.decode("utf-8", "replace").strip()
        raise UserError(f"git merge-file failed on {path}: {reason}")
    merged, left = resolve(result.stdout.decode("utf-8"))
    return merged, left > 0


@dataclass(frozen=True)
class Outcome:
    """What an update did: one line a file, then one line overall."""

    lines: list[str]
    conflicts: bool


def apply_update(plan: UpdatePlan) -> Outcome:
    """Do what `plan` says. Conflicts stay for the user to resolve."""
    if not plan.git:
        update_in_place(plan.project, plan.writes())
        outcome = Outcome(summary(plan, dry_run=False), bool(plan.conflicts))
    elif not plan.changes:
        return Outcome(summary(plan, dry_run=False), False)
    else:
        outcome = _apply_git(plan)
    if PYPROJECT in {change.path for change in plan.changes}:
        # A new dependency is missing until the project is installed again.
        outcome.lines.append(REINSTALL)
    return outcome


def _apply_git(plan: UpdatePlan) -> Outcome:
    assert plan.layout is not None
    project = plan.project
    dirty = history.uncommitted(project)
    if dirty:
        raise UserError(
            f"{project} has uncommitted changes ({', '.join(dirty[:5])}); commit or "
            "stash them first: tfk update merges into your last commit"
        )
    name, version = plan.new.name, f"tfk {__version__}"
    base = plan.base_commit
    adapted = plan.layout.adapt(plan.base)
    if adapted != plan.base or base is None:
        base = history.commit_tree(
            project,
            adapted,
            base,
            f"{name} as tfk last rendered it, in this project's layout\n\n"
            f"{history.TRAILER} {plan.old.tfk_version}",
        )
    rendered = plan.layout.adapt(plan.theirs)
    theirs = history.commit_tree(
        project,
        rendered,
        base,
        f"{name} as {version} renders it (templates {shipped_hash()})\n\n"
        "The files tfk writes for this project, in its layout; tfk update merges\n"
        f"this into your branch and starts the next update from here.\n\n"
        f"{history.TRAILER} {__version__} {shipped_hash()}",
    )
    head = history.git(project, "rev-parse", "HEAD").stdout.strip()
    message = f"Update {name} to {version} (templates {shipped_hash()})"
    history.merge(project, base, theirs, version, message)
    if RECORD in history.unmerged(project) and RECORD in rendered.files:
        # From an older base (the last render was rewritten) the record's
        # version lines differ on both sides; it is tfk's, as without git.
        history.take(project, RECORD, rendered.files[RECORD])
    left = history.unmerged(project)
    lines = [
        f"{'conflict' if path in left else GIT_KINDS.get(kind, 'updated')} {path}"
        for kind, path in history.changed(project, head)
    ]
    target = f"{project}/ ({plan.new.style} style, {version})"
    lines += [f"kept {path}: {reason}" for path, reason in plan.kept]
    if left:
        return Outcome(
            lines
            + [
                f"{len(left)} conflict(s) in {target}: resolve "
                f"{', '.join(map(str, left))} (markers <<<<<<< / ||||||| base / "
                ">>>>>>>; `git status` and `git mergetool` show each), `git add` "
                "them and `git commit`; `tfk update --abort` restores the tree"
            ],
            True,
        )
    commit = history.commit_merge(project)
    return Outcome(lines + [f"updated {target}: merged as commit {commit[:12]}"], False)


def recover(project: Path) -> None:
    """Clear what an update killed half-way (`kill -9`) left behind and that a
    rerun can redo: temporary files, and a git merge recorded but not started.
    A merge that changed files stays for the user (resolve or --abort)."""
    remove_stale_temporaries(project)
    if (
        history.is_repository(project)
        and history.merging(project)
        and history.merging_an_update(project)
        and history.merged_nothing(project)
    ):
        history.abort(project)


def remove_stale_temporaries(project: Path) -> list[Path]:
    """Delete the temporary files an interrupted update left beside the files
    it was replacing; `write.replace_file` names them `.<name>.tfk-<random>`.
    The removed files."""
    spec = read_record(project).spec
    folders = {project} | {
        project / str(path.parent).replace(PACKAGE_TOKEN, spec.package)
        for path in template_paths(spec)
    }
    stale = [
        file
        for folder in sorted(folders)
        if folder.is_dir() and not folder.is_symlink()
        for file in folder.glob(".*.tfk-*")
        if TEMPORARY.fullmatch(file.name) and file.is_file() and not file.is_symlink()
    ]
    for file in stale:
        file.unlink()
    return stale


def abort_update(project: Path) -> str:
    """Undo an update whose merge is still in progress."""
    if not history.is_repository(project):
        raise UserError(
            f"{project} is not a git repository: tfk update --abort undoes a merge "
            "in progress, and only git projects have one"
        )
    if not history.merging(project):
        raise UserError(f"no update is in progress in {project}; nothing to abort")
    if not history.merging_an_update(project):
        raise UserError(
            f"the merge in progress in {project} is not a tfk update; "
            "`git merge --abort` undoes it"
        )
    history.abort(project)
    return f"aborted the update: {project} is as it was before it"


def diff(plan: UpdatePlan) -> str:
    """The unified diff of what the update would change: the files on disk
    without git, the template change that git would merge otherwise."""
    chunks = []
    for change in plan.changes:
        chunks.extend(
            difflib.unified_diff(
                (change.old or "").splitlines(keepends=True),
                (change.new or "").splitlines(keepends=True),
                fromfile=f"a/{change.path}" if change.old is not None else "/dev/null",
                tofile=f"b/{change.path}" if change.new is not None else "/dev/null",
            )
        )
    return "".join(line if line.endswith("\n") else line + "\n" for line in chunks)


def check(plan: UpdatePlan) -> list[str]:
    """What `tfk update --check` prints: current, or the files an update changes."""
    release = f"tfk {__version__} (templates {shipped_hash()})"
    if not plan.changes:
        return [f"{plan.project}/ is up to date with {release}"]
    return [
        f"update waits: {release} changes {len(plan.changes)} file(s) in "
        f"{plan.project}/ (run tfk update):"
    ] + [f"  {WOULD[change.kind]} {change.path}" for change in plan.changes]


def summary(plan: UpdatePlan, *, dry_run: bool) -> list[str]:
    """What happened (or would), one line a file, then one line overall."""
    lines = [
        f"{WOULD[change.kind] if dry_run else change.kind} {change.path}"
        for change in plan.changes
    ]
    lines += [f"kept {path}: {reason}" for path, reason in plan.kept]
    target = f"{plan.project}/ ({plan.new.style} style, tfk {plan.new.tfk_version})"
    if not plan.changes:
        lines.append(f"nothing to update: {target} is up to date")
    elif plan.conflicts:
        lines.append(
            f"{len(plan.conflicts)} conflict(s) in {target}: resolve the "
            f"<<<<<<< {YOURS} / ||||||| base / >>>>>>> {TFK} markers in "
            + ", ".join(str(path) for path in plan.conflicts)
        )
    else:
        lines.append(f"{'would update' if dry_run else 'updated'} {target}")
    return lines
