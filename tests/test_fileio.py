"""The one writer respects what sits at the destination; the one id check keeps ids inside their folder."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from speechtools.errors import UserError
from speechtools.fileio import atomic_dir, atomic_path, atomic_write, checked_id, id_file


def test_a_new_file_gets_the_umask_mode_and_a_replaced_file_keeps_its_mode(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        with atomic_write(tmp_path / "new.txt") as handle:
            handle.write("x\n")
        assert stat.S_IMODE((tmp_path / "new.txt").stat().st_mode) == 0o640
    finally:
        os.umask(old)
    kept = tmp_path / "kept.txt"
    kept.write_text("old\n")
    kept.chmod(0o604)
    with atomic_write(kept) as handle:
        handle.write("new\n")
    assert kept.read_text() == "new\n" and stat.S_IMODE(kept.stat().st_mode) == 0o604


def test_a_symlink_stays_a_link_and_its_target_is_replaced(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "out.txt"
    target.write_text("old\n")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    with atomic_write(link) as handle:
        handle.write("new\n")
    assert link.is_symlink() and target.read_text() == "new\n"
    assert sorted(p.name for p in (tmp_path / "real").iterdir()) == ["out.txt"]  # the temporary file was beside the target


def test_devices_and_fifos_are_streamed_to_not_replaced(tmp_path: Path) -> None:
    with atomic_write("/dev/null") as handle:
        handle.write("gone\n")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
    reader.start()
    with atomic_path(fifo) as tmp:  # libraries that want a file name (torch.save, soundfile) also stream
        tmp.write_text("through the pipe\n")
    reader.join(timeout=10)
    assert received == ["through the pipe\n"] and stat.S_ISFIFO(fifo.stat().st_mode)


def test_bad_destinations_and_write_errors_are_user_errors_that_leave_nothing(tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "file").write_text("")
    for path, message in ((tmp_path / "folder", "is a directory"),
                          (tmp_path / "missing" / "x.txt", "does not exist"),
                          (tmp_path / "file" / "x.txt", "is not a folder")):
        with pytest.raises(UserError, match=message):
            with atomic_write(path) as handle:
                handle.write("x")
    with pytest.raises(UserError, match="No space left on device") as info:
        with atomic_write("/dev/full") as handle:
            handle.write("x" * 100_000)
    assert info.value.path == "/dev/full"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "folder"]


def test_a_failed_block_leaves_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "out.txt"
    path.write_text("old\n")
    with pytest.raises(RuntimeError):
        with atomic_write(path) as handle:
            handle.write("half")
            raise RuntimeError("interrupted")
    assert path.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_a_folder_is_replaced_whole_or_not_at_all(tmp_path: Path) -> None:
    out = tmp_path / "details"
    with atomic_dir(out) as tmp:
        (tmp / "a").write_text("1")
        (tmp / "b").write_text("1")
    with pytest.raises(RuntimeError):
        with atomic_dir(out) as tmp:
            (tmp / "a").write_text("2")
            raise RuntimeError("killed half-way")
    assert {p.name: p.read_text() for p in out.iterdir()} == {"a": "1", "b": "1"}
    with atomic_dir(out) as tmp:
        (tmp / "c").write_text("3")
    assert [p.name for p in out.iterdir()] == ["c"]  # no file of the old run beside the new one
    assert [p.name for p in tmp_path.iterdir()] == ["details"]


@pytest.mark.parametrize("bad, reason", [
    ("../../etc/evil", "contains '/'"), ("u/1", "contains '/'"), ("..", "path component"), (".", "path component"),
    ("", "is empty"), ("a\x00b", "control character"), ("tab\there", "control character"), ("x" * 201, "longer than 200 bytes"),
])
def test_ids_that_would_escape_or_break_a_folder_are_named_errors(bad: str, reason: str, tmp_path: Path) -> None:
    with pytest.raises(UserError, match=reason) as info:
        checked_id(bad, "utterance id", tmp_path / "text", 7)
    assert info.value.line == 7 and info.value.path == str(tmp_path / "text")
    with pytest.raises(UserError):
        id_file(tmp_path, bad, ".wav")


def test_good_ids_stay_inside_their_folder(tmp_path: Path) -> None:
    for good in ("LJ001-0001", "spk_1.utt.2", "你好", "-x", "a b"):
        assert id_file(tmp_path, good, ".wav").parent == tmp_path


def test_several_outputs_appear_together_or_not_at_all(tmp_path: Path) -> None:
    from speechtools.fileio import atomic_paths

    with pytest.raises(UserError, match="No space left on device"):
        with atomic_paths(tmp_path / "a.txt", "/dev/full") as (a, full):
            a.write_text("first\n")
            full.write_text("x" * 100_000)
    assert list(tmp_path.iterdir()) == []  # the device is written first; it failed, so a.txt never appeared
    with atomic_paths(tmp_path / "a.txt", tmp_path / "b.txt") as (a, b):
        a.write_text("1\n")
        b.write_text("2\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt"]
