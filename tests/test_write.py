import os
import shutil
import subprocess
from pathlib import Path, PurePosixPath

import pytest

from tfk_scaffold import write
from tfk_scaffold.errors import UserError
from tfk_scaffold.files import File
from tfk_scaffold.write import write_project

FILES = [
    File(PurePosixPath("a.txt"), "a\n"),
    File(PurePosixPath("src/b.py"), "b = 1\n"),
]


def tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): p.read_text()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.parts
    }


def test_a_new_project_is_written_whole_with_nothing_left_beside_it(tmp_path):
    write_project(FILES, tmp_path / "demo", force=False, git=False)
    assert tree(tmp_path / "demo") == {"a.txt": "a\n", "src/b.py": "b = 1\n"}
    assert [p.name for p in tmp_path.iterdir()] == ["demo"]


def test_an_existing_non_empty_directory_is_refused_and_untouched(tmp_path):
    target = tmp_path / "demo"
    target.mkdir()
    (target / "a.txt").write_text("mine\n")
    with pytest.raises(UserError, match="exists and is not empty.*--force"):
        write_project(FILES, target, force=False, git=False)
    assert tree(target) == {"a.txt": "mine\n"}


def test_force_replaces_only_our_files_lists_them_and_deletes_nothing(tmp_path):
    target = tmp_path / "demo"
    target.mkdir()
    (target / "a.txt").write_text("mine\n")
    (target / "notes.md").write_text("keep me\n")
    report = write_project(FILES, target, force=True, git=False)
    assert report.overwritten == [PurePosixPath("a.txt")]
    assert tree(target) == {
        "a.txt": "a\n",
        "notes.md": "keep me\n",
        "src/b.py": "b = 1\n",
    }


def test_an_empty_existing_directory_is_used(tmp_path):
    (tmp_path / "demo").mkdir()
    write_project(FILES, tmp_path / "demo", force=False, git=False)
    assert tree(tmp_path / "demo") == {"a.txt": "a\n", "src/b.py": "b = 1\n"}


@pytest.mark.parametrize("failing_write", [1, 2])
def test_a_failure_at_any_write_step_leaves_nothing_behind(
    tmp_path, monkeypatch, failing_write
):
    calls = []
    real_write = write._write_file

    def flaky(path, contents):
        calls.append(path)
        if len(calls) == failing_write:
            raise KeyboardInterrupt
        real_write(path, contents)

    monkeypatch.setattr(write, "_write_file", flaky)
    with pytest.raises(KeyboardInterrupt):
        write_project(FILES, tmp_path / "demo", force=False, git=False)
    assert list(tmp_path.iterdir()) == []


def test_missing_parents_are_created_by_the_same_one_rename(tmp_path, monkeypatch):
    target = tmp_path / "new" / "deeper" / "demo"
    real_write = write._write_file

    def interrupted(path, contents):
        real_write(path, contents)
        raise KeyboardInterrupt

    monkeypatch.setattr(write, "_write_file", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_project(FILES, target, force=False, git=False)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(write, "_write_file", real_write)
    write_project(FILES, target, force=False, git=False)
    assert tree(tmp_path) == {
        "new/deeper/demo/a.txt": "a\n",
        "new/deeper/demo/src/b.py": "b = 1\n",
    }


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_an_unwritable_parent_is_reported(tmp_path):
    parent = tmp_path / "locked"
    parent.mkdir(mode=0o500)
    with pytest.raises(UserError, match="permission denied"):
        write_project(FILES, parent / "demo", force=False, git=False)


def test_a_file_in_the_way_is_reported(tmp_path):
    (tmp_path / "demo").write_text("")
    with pytest.raises(UserError, match="exists and is a file"):
        write_project(FILES, tmp_path / "demo", force=False, git=False)


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_git_gets_one_first_commit_holding_every_file(tmp_path):
    report = write_project(FILES, tmp_path / "demo", force=False, git=True)
    assert "first commit" in report.git_note
    log = subprocess.run(
        ["git", "log", "--oneline"],
        cwd=tmp_path / "demo",
        capture_output=True,
        text=True,
    )
    assert len(log.stdout.splitlines()) == 1
    listed = subprocess.run(
        ["git", "ls-files"], cwd=tmp_path / "demo", capture_output=True, text=True
    )
    assert listed.stdout.split() == ["a.txt", "src/b.py"]


def test_replace_file_keeps_the_mode_and_leaves_no_temporary_file(tmp_path):
    script = tmp_path / "run.sh"
    script.write_text("old\n")
    script.chmod(0o755)
    write.replace_file(script, "new\r\n")
    assert script.read_bytes() == b"new\r\n"
    assert script.stat().st_mode & 0o777 == 0o755
    assert [p.name for p in tmp_path.iterdir()] == ["run.sh"]


def test_an_interrupted_replace_leaves_the_old_file_whole(tmp_path, monkeypatch):
    target = tmp_path / "a.txt"
    target.write_text("old\n")

    def interrupted(source, destination):
        raise KeyboardInterrupt

    monkeypatch.setattr(write.Path, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write.replace_file(target, "new\n")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_update_in_place_writes_and_removes_only_what_it_is_given(tmp_path):
    (tmp_path / "keep.txt").write_text("mine\n")
    (tmp_path / "old.txt").write_text("old\n")
    write.update_in_place(
        tmp_path,
        {PurePosixPath("old.txt"): None, PurePosixPath("new/b.txt"): "b\n"},
    )
    assert tree(tmp_path) == {"keep.txt": "mine\n", "new/b.txt": "b\n"}
