"""Bronze listing (issue 14): regular files only; anything else is a one-line error."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from beam_pipelines.bronze_listing import list_bronze_files, not_a_regular_file
from beam_pipelines.cli_support import OttError


@pytest.fixture
def part_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "bronze" / "playback_events" / "dt=2026-11-02"
    folder.mkdir(parents=True)
    (folder / "part-00000.csv").write_text("event_id\n1\n")
    return folder


def _pattern(part_dir: Path) -> str:
    return f"{part_dir.parent}/dt=*/part-*.csv"


def test_regular_files_and_symlinks_to_them_are_listed(part_dir: Path) -> None:
    (part_dir / "part-00001.csv").symlink_to(part_dir / "part-00000.csv")
    (part_dir / "notes.txt").write_text("not matched")
    assert list_bronze_files(_pattern(part_dir)) == [
        str(part_dir / "part-00000.csv"),
        str(part_dir / "part-00001.csv"),
    ]
    assert list_bronze_files(str(part_dir / "part-none-*.csv")) == []


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _directory(path: Path) -> None:
    path.mkdir()


def _dangling(path: Path) -> None:
    path.symlink_to(path.parent / "nowhere.csv")


def _loop(path: Path) -> None:
    path.symlink_to(path)


def _socket(path: Path) -> None:
    sock, cwd = socket.socket(socket.AF_UNIX), os.getcwd()
    os.chdir(path.parent)  # bind a relative name: tmp paths can exceed AF_UNIX's 108 bytes
    try:
        sock.bind(path.name)
    finally:
        os.chdir(cwd)
        sock.close()


def _link_to_directory(path: Path) -> None:
    (path.parent / "d").mkdir()
    path.symlink_to(path.parent / "d")


@pytest.mark.parametrize(
    "make, kind",
    [
        (_fifo, "a FIFO"),
        (_directory, "a directory"),
        (_dangling, "a dangling symlink"),
        (_loop, "a symlink loop"),
        (_socket, "a socket"),
        (_link_to_directory, "a directory behind a symlink"),
    ],
)
def test_anything_but_a_regular_file_is_a_one_line_error(part_dir: Path, make, kind: str) -> None:
    bad = part_dir / "part-99999.csv"
    make(bad)
    assert not_a_regular_file(str(bad)).startswith(kind)
    with pytest.raises(OttError) as info:
        list_bronze_files(_pattern(part_dir))  # must return at once, never open the FIFO
    message = str(info.value)
    assert "\n" not in message and str(bad) in message and kind in message


def test_several_bad_entries_name_the_first_and_count_the_rest(part_dir: Path) -> None:
    os.mkfifo(part_dir / "part-a.csv")
    (part_dir / "part-b.csv").mkdir()
    with pytest.raises(OttError, match=r"part-a\.csv' is a FIFO .*\(and 1 more such entries\)"):
        list_bronze_files(_pattern(part_dir))


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file_is_an_error(part_dir: Path) -> None:
    locked = part_dir / "part-00001.csv"
    locked.write_text("x\n")
    locked.chmod(0)
    with pytest.raises(OttError, match="unreadable"):
        list_bronze_files(_pattern(part_dir))
