"""The `ott` console command: dispatch, --help everywhere, one-line errors."""

from __future__ import annotations

import subprocess

import pytest

from scripts.cli import COMMANDS


def run(ott_bin: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([ott_bin, *args], capture_output=True, text=True, timeout=300)


def test_top_level_help_lists_every_command(ott_bin):
    result = run(ott_bin, "--help")
    assert result.returncode == 0
    for name in COMMANDS:
        assert name in result.stdout


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_subcommand_has_help(ott_bin, command):
    result = run(ott_bin, command, "--help")
    assert result.returncode == 0, result.stderr
    assert "--data-dir" in result.stdout


def test_unknown_command_is_one_line_error(ott_bin):
    result = run(ott_bin, "frobnicate")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "unknown command" in result.stderr


def test_run_rejects_generator_flags_with_skip_generate(ott_bin, tmp_path):
    result = run(ott_bin, "run", "--skip-generate", "--days", "2", "--data-dir", str(tmp_path))
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0
    assert "Traceback" not in result.stderr
