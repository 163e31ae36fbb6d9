"""Conflicts only where both sides changed the same lines.

git's three-way merge (`merge-file`, `merge-recursive`) reports a conflict
whenever the two sides' changes touch, even if no line was changed by both: a
team that sets `epochs = 25` conflicts with a template that adds a line right
below it. This pass takes each diff3 conflict block git left (yours, base,
tfk), merges it again line by line, and keeps the block only where both sides
really edited the same base line, or inserted different lines at the same place.

A replacement of n lines by n lines counts as n one-line edits; any other
replacement is one edit of its whole range, and a line the other side inserts
strictly inside that range conflicts. An insertion at either edge of the other
side's edit goes before or after it.
"""

from __future__ import annotations

from difflib import SequenceMatcher

MARKER = 7
Edit = tuple[int, int, list[str]]  # replace base[start:end] with the lines


def resolve(text: str) -> tuple[str, int]:
    """`text` with every diff3 conflict block that merges line by line resolved;
    the text and the number of blocks left."""
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    left = 0
    index = 0
    while index < len(lines):
        block = _block(lines, index)
        if block is None:
            left += _is(lines[index], "<")  # not a block we can read: keep it
            out.append(lines[index])
            index += 1
            continue
        end, ours, base, theirs = block
        merged = merge_lines(base, ours, theirs)
        if merged is None:
            out.extend(lines[index:end])
            left += 1
        else:
            out.extend(merged)
        index = end
    return "".join(out), left


def _block(
    lines: list[str], start: int
) -> tuple[int, list[str], list[str], list[str]] | None:
    """The diff3 block opening at `start`: (index after it, ours, base, theirs)."""
    if not _is(lines[start], "<"):
        return None
    parts: list[list[str]] = [[]]
    expected = ["|", "="]
    for index in range(start + 1, len(lines)):
        line = lines[index]
        if expected and _is(line, expected[0], bare=expected[0] == "="):
            expected.pop(0)
            parts.append([])
        elif not expected and _is(line, ">"):
            ours, base, theirs = parts
            return index + 1, ours, base, theirs
        elif _is(line, "<"):
            return None  # nested or broken: leave it as git wrote it
        else:
            parts[-1].append(line)
    return None


def _is(line: str, kind: str, *, bare: bool = False) -> bool:
    stripped = line.rstrip("\r\n")
    marker = kind * MARKER
    if bare:
        return stripped == marker
    return stripped == marker or stripped.startswith(marker + " ")


def merge_lines(
    base: list[str], ours: list[str], theirs: list[str]
) -> list[str] | None:
    """A three-way merge of line lists; None where both sides edit one line."""
    mine, tfk = _edits(base, ours), _edits(base, theirs)
    tfk = [edit for edit in tfk if edit not in mine]  # both made the same edit
    if any(_clash(a, b) for a in mine for b in tfk):
        return None
    out: list[str] = []
    position = 0
    for start, end, new in sorted(mine + tfk, key=lambda e: (e[0], e[0] != e[1])):
        out += base[position:start] + new
        position = end
    return out + base[position:]


def _clash(a: Edit, b: Edit) -> bool:
    """Whether edits of the two sides touch the same base line (or insert at
    the same place, or one inserts inside the other's range)."""
    (a1, a2, _), (b1, b2, _) = a, b
    if a1 == a2 and b1 == b2:
        return a1 == b1
    if a1 == a2:
        return b1 < a1 < b2
    if b1 == b2:
        return a1 < b1 < a2
    return a1 < b2 and b1 < a2


def _edits(base: list[str], other: list[str]) -> list[Edit]:
    """base -> other as edits; an n-for-n replacement is n one-line edits."""
    edits: list[Edit] = []
    matcher = SequenceMatcher(None, base, other, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        if tag == "replace" and i2 - i1 == j2 - j1:
            edits += [(i1 + k, i1 + k + 1, [other[j1 + k]]) for k in range(i2 - i1)]
        else:
            edits.append((i1, i2, other[j1:j2]))
    return edits
