"""The project's git history, as `tfk update` uses it.

`tfk new` has always committed exactly the files it rendered as a project's first
commit ("Generate NAME with tfk"). Each `tfk update` commits the new render as a
child of the previous render ("Tfk-Render:" trailer) and merges that commit
into HEAD, so the newest render in HEAD's history is always the exact base of
the next update, for every build of tfk that ever wrote the project, and it
travels with every clone. The merge is git's own (`git merge-recursive` with
that base, renames detected); tfk then records MERGE_HEAD as `git merge` does,
so a conflict is an ordinary merge in progress for `git status`, `git
mergetool`, IDEs and `git merge --abort`.

A render is committed in the project's own layout: a file the project keeps
with CRLF line endings is rendered with CRLF, and a file the project replaced by
a symlink to another tracked file is rendered at the link's target. The base is
laid out the same way, so neither ever reads as a whole-file change.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from tfk_scaffold.conflicts import resolve
from tfk_scaffold.errors import UserError

GENERATED = re.compile(r"Generate .+ with tfk")  # tfk new's first commit
TRAILER = "Tfk-Render:"
RENDERED = re.compile(  # the subject of every render commit since the trailer
    r".+ as tfk (\S+ renders it \(templates \w+\)"
    r"|last rendered it, in this project's layout)"
)
LINK_MODE = "120000"
FALLBACK_IDENTITY = ["-c", "user.name=tfk", "-c", "user.email=tfk@localhost"]


@dataclass(frozen=True)
class Tree:
    """A project's files as text, and its symlinks (path -> link target)."""

    files: dict[PurePosixPath, str]
    links: dict[PurePosixPath, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Layout:
    """How HEAD keeps the files of a render: where the user moved them, which
    they deleted, which use CRLF, which are symlinks to which tracked file."""

    moved: dict[PurePosixPath, PurePosixPath]
    deleted: frozenset[PurePosixPath]
    crlf: frozenset[PurePosixPath]
    links: dict[PurePosixPath, str]
    tracked: frozenset[PurePosixPath]

    def adapt(self, tree: Tree) -> Tree:
        """`tree` as this project would keep it."""
        files: dict[PurePosixPath, str] = {}
        links = dict(tree.links)
        for path, text in tree.files.items():
            where = self.moved.get(path, path)
            if where in self.deleted:
                continue  # deleted files stay deleted
            if where in self.links:
                links[path] = self.links[where]
                target = self._link_target(where)
                if target is None or target in tree.files:
                    continue  # a link out of the project, or onto another file
                where = path = target
            files[path] = _crlf(text) if where in self.crlf else text
        return Tree(files, links)

    def _link_target(self, link: PurePosixPath) -> PurePosixPath | None:
        target = os.path.normpath(link.parent / self.links[link])
        resolved = PurePosixPath(target)
        inside = not resolved.is_absolute() and not target.startswith("..")
        return resolved if inside and resolved in self.tracked else None


def _crlf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def git(
    project: Path, *arguments: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run git in `project`; the result, whatever git's exit code.

    Output goes to files, not pipes: if tfk is killed (`kill -9`) a git it
    started finishes its work instead of dying half-way on a broken pipe."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        result = subprocess.run(
            ["git", "-c", "core.quotePath=false", *arguments],
            cwd=project,
            stdout=out,
            stderr=err,
            env={**os.environ, **(env or {})},
        )
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(
            result.args,
            result.returncode,
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
        )


def _output(project: Path, *arguments: str) -> str:
    result = git(project, *arguments)
    if result.returncode != 0:
        raise UserError(
            f"`git {' '.join(arguments)}` failed in {project}: {result.stderr.strip()}"
        )
    return result.stdout


def is_repository(project: Path) -> bool:
    """Whether `project` is the top of a git work tree with at least one commit."""
    if shutil.which("git") is None:
        return False
    top = git(project, "rev-parse", "--show-toplevel")
    if top.returncode != 0 or Path(top.stdout.strip()).resolve() != project.resolve():
        return False
    return git(project, "rev-parse", "-q", "--verify", "HEAD").returncode == 0


@dataclass(frozen=True)
class Renders:
    """The renders tfk committed in HEAD's history."""

    newest: str | None  # the newest render that is still exactly tfk's
    rewritten: bool  # a newer one was rebased or squashed into a user commit


def find_renders(project: Path) -> Renders:
    """The newest commit in HEAD's history that holds a render by tfk.

    A render commit is tfk's only while its whole first-parent chain is: render
    commits, each with one parent, down to `tfk new`'s root commit (or a render
    made without one). A rebase or a squash keeps the trailer in the message of
    a commit that now also holds the team's edits; as a base, it would make the
    next update revert them, so such a commit is passed over. A render's message
    is its subject, then its trailer as the last line: a squash whose message
    ends with a render's has the squash's subject."""
    log = _output(
        project,
        "log",
        "--topo-order",
        "-E",
        "--grep=^Generate .+ with tfk$",
        f"--grep=^{TRAILER} ",
        "--format=%H %P%x00%B%x1e",
        "HEAD",
    )
    found: dict[str, tuple[list[str], bool]] = {}  # commit -> parents, is a render
    for entry in log.split("\x1e"):
        if "\x00" not in entry:
            continue
        commits, body = entry.strip("\n").split("\x00", 1)
        commit, *parents = commits.split()
        lines = body.strip().splitlines()
        trailers = [line for line in lines if line.startswith(TRAILER)]
        if trailers:
            alone = trailers == lines[-1:] and bool(RENDERED.fullmatch(lines[0]))
            found[commit] = (parents, alone)
        elif not parents and lines and GENERATED.fullmatch(lines[0]):
            found[commit] = (parents, True)
    rewritten = False
    for commit in found:
        if _tfks_alone(commit, found):
            return Renders(commit, rewritten)
        rewritten = True
    return Renders(None, rewritten)


def _tfks_alone(commit: str, found: dict[str, tuple[list[str], bool]]) -> bool:
    while commit in found:
        parents, render = found[commit]
        if not render or len(parents) > 1:
            return False
        if not parents:
            return True
        commit = parents[0]
    return False


def read_tree(project: Path, commit: str) -> Tree:
    """Every file of `commit`, as text."""
    entries = _output(project, "ls-tree", "-r", "-z", commit).split("\0")
    modes: dict[PurePosixPath, tuple[str, str]] = {}
    for entry in filter(None, entries):
        meta, name = entry.split("\t", 1)
        mode, kind, sha = meta.split()
        if kind == "blob":
            modes[PurePosixPath(name)] = (mode, sha)
    blobs = _cat_blobs(project, [sha for _, sha in modes.values()])
    files, links = {}, {}
    for path, (mode, sha) in modes.items():
        (links if mode == LINK_MODE else files)[path] = blobs[sha]
    return Tree(files, links)


def read_files(
    project: Path, commit: str, paths: list[PurePosixPath]
) -> dict[PurePosixPath, str]:
    """The text of those `paths` that `commit` has, read in one git call (none
    for no paths)."""
    names = {f"{commit}:{path}": path for path in paths}
    blobs = _cat_blobs(project, list(names)) if names else {}
    return {names[name]: text for name, text in blobs.items()}


def _cat_blobs(project: Path, names: list[str]) -> dict[str, str]:
    """Each named object's text (a sha, or commit:path); none for a name
    that is missing."""
    result = subprocess.run(
        ["git", "cat-file", "--batch"],
        cwd=project,
        input="".join(f"{name}\n" for name in names).encode(),
        capture_output=True,
        check=True,
    )
    blobs, data = {}, result.stdout
    for name in names:
        header, data = data.split(b"\n", 1)
        if header.endswith(b" missing"):
            continue
        size = int(header.split()[2])
        blobs[name] = data[:size].decode("utf-8", "replace")
        data = data[size + 1 :]
    return blobs


def layout(project: Path, base: Tree, commit: str | None) -> Layout:
    """How HEAD keeps the files of `base`, the render in `commit` (without a
    commit, moves are not known)."""
    moved = {}
    status = ""
    if commit is not None:
        status = _output(project, "diff", "-M", "-z", "--name-status", commit, "HEAD")
    fields = iter(status.split("\0"))
    for kind in fields:
        if kind.startswith("R"):
            old, new = next(fields), next(fields)
            moved[PurePosixPath(old)] = PurePosixPath(new)
        elif kind:
            next(fields)
    crlf, links, tracked = set(), {}, set()
    index = _output(project, "ls-files", "--eol", "-s", "-z")
    for entry in filter(None, index.split("\0")):
        meta, endings, name = entry.split("\t", 2)
        path = PurePosixPath(name)
        tracked.add(path)
        if meta.startswith(LINK_MODE):
            links[path] = str((project / name).readlink())
        elif "i/crlf" in endings.split():
            crlf.add(path)
    deleted = {path for path in base.files if moved.get(path, path) not in tracked}
    return Layout(moved, frozenset(deleted), frozenset(crlf), links, frozenset(tracked))


def commit_tree(project: Path, tree: Tree, parent: str | None, message: str) -> str:
    """Commit `tree` as a child of `parent` (None: a root commit) without
    touching the work tree, the index or any branch; returns the commit."""
    with tempfile.TemporaryDirectory(prefix="tfk-render-") as scratch:
        root = Path(scratch)
        for path, text in tree.files.items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_bytes(text.encode("utf-8"))
        for path, target in tree.links.items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).symlink_to(target)
        env = {"GIT_INDEX_FILE": str(root.parent / f"{root.name}.index")}
        try:
            for arguments in (
                ["-c", "core.autocrlf=false", f"--work-tree={root}", "add", "-A", "-f"],
                ["write-tree"],
            ):
                result = git(project, *arguments, env=env)
                if result.returncode != 0:
                    raise UserError(
                        f"git could not store tfk's render: {result.stderr}"
                    )
        finally:
            Path(env["GIT_INDEX_FILE"]).unlink(missing_ok=True)
    written = result.stdout.strip()
    parents = [] if parent is None else ["-p", parent]
    return _output(
        project,
        *_identity(project),
        "-c",
        "commit.gpgSign=false",
        "commit-tree",
        written,
        *parents,
        "-m",
        message,
    ).strip()


def _identity(project: Path) -> list[str]:
    has = git(project, "config", "user.email")
    return [] if has.returncode == 0 and has.stdout.strip() else FALLBACK_IDENTITY


def marked(project: Path) -> list[PurePosixPath]:
    """Tracked files with a line that starts a conflict marker."""
    found = git(project, "grep", "-l", "-z", "-I", "-E", "-e", "^<<<<<<<( |$)")
    return [PurePosixPath(name) for name in found.stdout.split("\0") if name]


def uncommitted(project: Path) -> list[str]:
    """Tracked files with changes not yet committed."""
    status = _output(project, "status", "--porcelain", "-z", "--untracked-files=no")
    return [entry[3:] for entry in status.split("\0") if entry[:2].strip()]


def merging(project: Path) -> bool:
    return git(project, "rev-parse", "-q", "--verify", "MERGE_HEAD").returncode == 0


def unmerged(project: Path) -> list[PurePosixPath]:
    names = _output(project, "diff", "--name-only", "--diff-filter=U", "-z")
    return sorted({PurePosixPath(name) for name in names.split("\0") if name})


def merge(project: Path, base: str, theirs: str, label: str, message: str) -> bool:
    """Merge `theirs` into HEAD over `base` with diff3 markers, and leave the
    merge recorded as `git merge --no-commit` would. True when it conflicts.

    The merge is recorded before git touches a file, so a merge that is killed
    half-way is still a merge in progress that `git merge --abort` undoes."""
    head = _output(project, "rev-parse", "HEAD").strip()
    state = [
        ("ORIG_HEAD", head),
        ("MERGE_MSG", message),
        ("MERGE_MODE", "no-ff"),
        ("MERGE_HEAD", theirs),  # last: its presence means "in progress"
    ]
    paths = [
        project / _output(project, "rev-parse", "--git-path", name).strip()
        for name, _ in state
    ]
    for path, (_, text) in zip(paths, state, strict=True):
        path.write_text(text + "\n", encoding="utf-8")
    result = git(
        project,
        "-c",
        "merge.conflictStyle=diff3",
        "-c",
        "merge.renames=true",
        "merge-recursive",
        base,
        "--",
        head,
        theirs,
        env={f"GITHEAD_{theirs}": label, f"GITHEAD_{head}": "HEAD (yours)"},
    )
    conflicted = unmerged(project)
    if result.returncode != 0 and not conflicted:
        for path in reversed(paths[1:]):
            path.unlink(missing_ok=True)
        reason = (result.stderr or result.stdout).strip()
        raise UserError(f"git could not merge the update, nothing changed: {reason}")
    return bool(_keep_real_conflicts(project, conflicted))


def _keep_real_conflicts(
    project: Path, conflicted: list[PurePosixPath]
) -> list[PurePosixPath]:
    """Resolve the conflict blocks where the sides only touch (`conflicts.py`);
    a file left with none is marked resolved. The files still in conflict."""
    left = []
    for path in conflicted:
        file = project / path
        try:
            text = file.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError):
            left.append(path)
            continue
        resolved, blocks = resolve(text)
        if resolved != text and not file.is_symlink():
            file.write_bytes(resolved.encode("utf-8"))
        if blocks == 0 and "<<<<<<<" in text and not file.is_symlink():
            _output(project, "add", "--", str(path))
        else:
            left.append(path)
    return left


def take(project: Path, path: PurePosixPath, text: str) -> None:
    """Resolve a conflict in `path` with `text`."""
    (project / path).write_bytes(text.encode("utf-8"))
    _output(project, "add", "--", str(path))


def commit_merge(project: Path) -> str:
    """Finish a merge that `merge` left without conflicts."""
    result = git(project, *_identity(project), "commit", "-q", "--no-edit")
    if result.returncode != 0:
        raise UserError(
            "the update is merged but `git commit` failed: "
            f"{(result.stderr or result.stdout).strip()}; fix that and run "
            "`git commit`, or `tfk update --abort`"
        )
    return _output(project, "rev-parse", "HEAD").strip()


def merging_an_update(project: Path) -> bool:
    """Whether the merge in progress is one `tfk update` started."""
    body = git(project, "log", "-1", "--format=%B", "MERGE_HEAD")
    return body.returncode == 0 and TRAILER in body.stdout


def merged_nothing(project: Path) -> bool:
    """Whether the merge in progress has not changed a file yet (tfk was
    stopped between recording the merge and running it)."""
    return (
        not unmerged(project)
        and git(project, "diff", "--quiet", "HEAD").returncode == 0
    )


def abort(project: Path) -> None:
    """Undo the merge in progress: the tree as HEAD has it. An update starts
    from a clean tree, so every change to a tracked file, and every file the
    merge added, is the merge's, even if it was killed half-way."""
    added = _names(project, "MERGE_HEAD") - _names(project, "HEAD")
    git(project, "merge", "--abort")
    if merging(project) or uncommitted(project):
        result = git(project, "reset", "-q", "--hard", "HEAD")
        if result.returncode != 0:
            raise UserError(f"git reset --hard failed: {result.stderr.strip()}")
        for name in ("MERGE_HEAD", "MERGE_MSG", "MERGE_MODE"):
            path = _output(project, "rev-parse", "--git-path", name).strip()
            (project / path).unlink(missing_ok=True)
    for name in sorted(added):
        (project / name).unlink(missing_ok=True)


def _names(project: Path, commit: str) -> set[str]:
    listing = _output(project, "ls-tree", "-r", "-z", "--name-only", commit)
    return {name for name in listing.split("\0") if name}


def changed(project: Path, since: str) -> list[tuple[str, PurePosixPath]]:
    """(git status letter, path) of every file that differs from `since`,
    in the index and work tree."""
    status = _output(project, "diff", "-M", "-z", "--name-status", since)
    fields = iter(status.split("\0"))
    found = []
    for kind in fields:
        if not kind:
            continue
        if kind[0] in "RC":
            next(fields)
        found.append((kind[0], PurePosixPath(next(fields))))
    return found
