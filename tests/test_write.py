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
@pytest.mark.parametrize("where", ["absolute", "relative"])
def test_git_gets_one_first_commit_holding_every_file(tmp_path, monkeypatch, where):
    # `tfk new demo` writes to ./demo: git must find it from a relative path too.
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "demo" if where == "absolute" else Path("demo")
    report = write_project(FILES, target, force=False, git=True)
    assert "first commit" in report.git_note, report.git_note
    assert not list((tmp_path / "demo").glob(".demo*")), "a nested repository"
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


def git(directory: Path, *arguments: str) -> str:
    """git as a user runs it, whatever GIT_* variables the test set."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    result = subprocess.run(
        ["git", *arguments],
        cwd=directory,
        env=clean,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_git_variables_from_a_hook_never_reach_another_repository(
    tmp_path, monkeypatch
):
    other = tmp_path / "other"
    other.mkdir()
    git(other, "init", "-q")
    (other / "theirs.txt").write_text("theirs\n")
    git(other, "add", "theirs.txt")
    git(other, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    head, index = git(other, "rev-parse", "HEAD"), (other / ".git/index").read_bytes()
    for variable, value in {
        "GIT_DIR": other / ".git",
        "GIT_WORK_TREE": other,
        "GIT_INDEX_FILE": other / ".git/index",
        "GIT_OBJECT_DIRECTORY": other / ".git/objects",
    }.items():
        monkeypatch.setenv(variable, str(value))
    report = write_project(FILES, tmp_path / "demo", force=False, git=True)
    assert "first commit" in report.git_note
    assert git(other, "rev-parse", "HEAD") == head
    assert (other / ".git/index").read_bytes() == index
    assert git(tmp_path / "demo", "ls-files").split() == ["a.txt", "src/b.py"]


@pytest.mark.parametrize(
    ("in_the_way", "message"),
    [
        ("a.txt/", "cannot write {target}/a.txt: a directory is in the way"),
        ("src", "cannot write {target}/src/b.py: {target}/src is a file where"),
    ],
)
def test_force_checks_every_destination_before_writing_any(
    tmp_path, in_the_way, message
):
    target = tmp_path / "demo"
    target.mkdir()
    if in_the_way.endswith("/"):
        (target / in_the_way).mkdir()
    else:
        (target / in_the_way).write_text("mine\n")
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    with pytest.raises(UserError, match=message.format(target=target)):
        write_project(FILES, target, force=True, git=False)
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == before


def test_a_second_writer_of_the_same_target_is_refused(tmp_path):
    target = tmp_path / "demo"
    with write._exclusive(target):
        with pytest.raises(UserError, match=f"another tfk is writing {target}"):
            write_project(FILES, target, force=True, git=False)
        assert not target.exists()
    write_project(FILES, target, force=False, git=False)
    assert [p.name for p in tmp_path.iterdir()] == ["demo"]


@pytest.mark.parametrize("points_to", ["empty", "missing"])
def test_a_symlinked_target_is_written_where_it_points(tmp_path, points_to):
    real = tmp_path / "real"
    if points_to == "empty":
        real.mkdir()
    (tmp_path / "demo").symlink_to(real)
    write_project(FILES, tmp_path / "demo", force=False, git=False)
    assert (tmp_path / "demo").is_symlink()
    assert tree(real) == {"a.txt": "a\n", "src/b.py": "b = 1\n"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo", "real"]


def test_a_new_project_gets_the_umask_modes_not_a_private_folder(tmp_path):
    previous = os.umask(0o022)
    try:
        write_project(FILES, tmp_path / "demo", force=False, git=False)
    finally:
        os.umask(previous)
    assert (tmp_path / "demo").stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "demo/src").stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "demo/a.txt").stat().st_mode & 0o777 == 0o644
