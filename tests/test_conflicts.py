"""Conflicts only where both sides changed the same lines."""

import pytest

from tfk_scaffold.conflicts import merge_lines, resolve

BASE = ["a\n", "epochs = 10\n", "batch = 64\n", "z\n"]


def lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


@pytest.mark.parametrize(
    ("ours", "theirs", "merged"),
    [
        # edits on both sides of a template insertion: git conflicts, we do not
        (
            "a\nepochs = 25\nbatch = 256\nz\n",
            "a\nepochs = 10\nmin = 1\nbatch = 64\nz\n",
            "a\nepochs = 25\nmin = 1\nbatch = 256\nz\n",
        ),
        # an edit right above a changed line
        (
            "a\nepochs = 25\nbatch = 64\nz\n",
            "a\nepochs = 10\nbatch = 32\nz\n",
            "a\nepochs = 25\nbatch = 32\nz\n",
        ),
        # the same edit on both sides
        (
            "a\nepochs = 25\nbatch = 64\nz\n",
            "a\nepochs = 25\nbatch = 64\nz\n",
            "a\nepochs = 25\nbatch = 64\nz\n",
        ),
        # an insertion at the edge of the other side's rewrite goes beside it
        (
            "a\nX\nY\nQ\nz\n",
            "new\na\nepochs = 10\nbatch = 64\nz\n",
            "new\na\nX\nY\nQ\nz\n",
        ),
    ],
)
def test_edits_of_different_lines_merge(ours, theirs, merged):
    assert merge_lines(BASE, lines(ours), lines(theirs)) == lines(merged)


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        ("a\nepochs = 3\nbatch = 64\nz\n", "a\nepochs = 4\nbatch = 64\nz\n"),
        ("a\nX\nY\nQ\nz\n", "a\nepochs = 10\nmin = 1\nbatch = 64\nz\n"),
        (
            "a\nmine\nepochs = 10\nbatch = 64\nz\n",
            "a\ntfk\nepochs = 10\nbatch = 64\nz\n",
        ),
        ("a\nbatch = 64\nz\n", "a\nepochs = 11\nbatch = 64\nz\n"),
    ],
    ids=["same line", "insert inside a rewrite", "two insertions", "delete vs edit"],
)
def test_edits_of_the_same_line_conflict(ours, theirs):
    assert merge_lines(BASE, lines(ours), lines(theirs)) is None


def test_resolve_keeps_real_conflicts_and_merges_the_rest():
    text = (
        "top\n"
        "<<<<<<< yours\nepochs = 25\r\n||||||| base\nepochs = 10\r\n=======\n"
        "epochs = 10\r\nmin = 1\r\n>>>>>>> tfk\n"
        "middle\n"
        "<<<<<<< yours\nmine\n||||||| base\nbase\n=======\ntheirs\n>>>>>>> tfk\n"
    )
    merged, left = resolve(text)
    assert left == 1
    assert merged == (
        "top\nepochs = 25\r\nmin = 1\r\nmiddle\n"
        "<<<<<<< yours\nmine\n||||||| base\nbase\n=======\ntheirs\n>>>>>>> tfk\n"
    )


def test_markers_it_cannot_read_are_left_alone_and_counted():
    text = "<<<<<<< yours\nmine\n=======\ntheirs\n>>>>>>> tfk\n"
    assert resolve(text) == (text, 1)
