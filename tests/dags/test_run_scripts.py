"""run_pipeline.sh (and run_pipeline.ps1) hand `run` to `ott run`, which owns the stage list
(scripts/stages.py, the DAG's too) and the flag routing (tests/scripts/test_cli.py).

The shell script is run for real next to a fake `.venv/bin/ott` that records its argv;
run_pipeline.ps1 cannot run here (no PowerShell), so it gets a syntax check with the
tree-sitter PowerShell grammar when that is installed."""

from __future__ import annotations

import os
import shlex
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from airflow_support import REPO_ROOT

SH = REPO_ROOT / "run_pipeline.sh"
PS1 = REPO_ROOT / "run_pipeline.ps1"


@pytest.fixture
def fake_project(tmp_path: Path) -> Path:
    """A copy of run_pipeline.sh next to a fake .venv/bin/ott that logs its argv (shell-quoted)."""
    root = tmp_path / "project"
    (root / ".venv" / "bin").mkdir(parents=True)
    shutil.copy(SH, root / "run_pipeline.sh")
    ott = root / ".venv" / "bin" / "ott"
    ott.write_text(
        "#!/usr/bin/env bash\n"
        'printf "%q " "$@" >> "$(dirname "$0")/../../calls.log"; echo >> "$(dirname "$0")/../../calls.log"\n'
        'if [[ -n "${FAIL_WITH:-}" ]]; then echo "ott $1: error: boom" >&2; exit "$FAIL_WITH"; fi\n'
    )
    ott.chmod(ott.stat().st_mode | stat.S_IXUSR)
    return root


def run_script(root: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k != "OTT_DATA_DIR"}
    environ.update({"OTT_SKIP_SETUP": "1", **env})
    return subprocess.run(
        ["bash", str(root / "run_pipeline.sh"), *args], env=environ, capture_output=True, text=True, timeout=60
    )


def calls(root: Path) -> list[list[str]]:
    log = root / "calls.log"
    return [shlex.split(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_run_hands_every_argument_to_ott_run_unchanged(fake_project, tmp_path):
    data = str(tmp_path / "a folder with spaces")
    args = ["--data-dir", data, "--days", "2", "--seed=7", "--max-quarantine-rate", "0.1", "--direct_num_workers=2"]
    result = run_script(fake_project, "run", *args)
    assert result.returncode == 0, result.stderr
    assert calls(fake_project) == [["run", *args]]


def test_no_mode_runs_the_whole_pipeline(fake_project):
    result = run_script(fake_project)
    assert result.returncode == 0, result.stderr
    assert calls(fake_project) == [["run"]]


def test_a_failing_run_exits_non_zero_with_one_error_line(fake_project):
    result = run_script(fake_project, "run", "--skip-generate", FAIL_WITH="3")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "ott run: error: boom",
        "[run_pipeline] ERROR: ott run failed (exit 3); see the messages above",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("frobnicate",), "unknown mode 'frobnicate'"),
        (("airflow", "--port", "1"), "the airflow mode takes no arguments"),
    ],
)
def test_bad_invocations_fail_with_one_line(fake_project, args, message):
    result = run_script(fake_project, *args)
    assert result.returncode == 1
    assert message in result.stderr and result.stderr.strip().count("\n") == 0
    assert calls(fake_project) == []


def test_run_reaches_the_real_ott_run():
    """Against the real environment: the script's `run` is `ott run` (its help lists the gate flag)."""
    result = subprocess.run(
        ["bash", str(SH), "run", "--help"], env={**os.environ, "OTT_SKIP_SETUP": "1"}, capture_output=True,
        text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "usage: ott run" in result.stdout and "--max-quarantine-rate" in result.stdout


def test_scripts_are_strict():
    assert "set -euo pipefail" in SH.read_text()
    assert 'ErrorActionPreference = "Stop"' in PS1.read_text()


def test_powershell_script_parses():
    """Syntax check where PowerShell cannot run (`pip install tree-sitter tree-sitter-powershell` to enable)."""
    tree_sitter = pytest.importorskip("tree_sitter")
    grammar = pytest.importorskip("tree_sitter_powershell")
    tree = tree_sitter.Parser(tree_sitter.Language(grammar.language())).parse(PS1.read_bytes())
    errors = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            errors.append((node.start_point, node.text[:80]))
        stack.extend(node.children)
    assert not tree.root_node.has_error, errors
