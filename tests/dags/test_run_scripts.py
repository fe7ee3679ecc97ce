"""run_pipeline.sh and run_pipeline.ps1 call the same `ott` steps in the same order as
`ott run` and the DAG, route flags to the steps that take them, and stop on a failing step."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from airflow_support import REPO_ROOT

from scripts.cli import COMMANDS
from scripts.run_all import GENERATOR_FLAGS, STEPS

SH = REPO_ROOT / "run_pipeline.sh"
PS1 = REPO_ROOT / "run_pipeline.ps1"
PIPELINE_STEPS = [step for step, _ in STEPS]


def sh_steps() -> list[str]:
    match = re.search(r"^STEPS=\(([^)]*)\)", SH.read_text(), re.MULTILINE)
    assert match, "run_pipeline.sh must declare STEPS=(...)"
    return match.group(1).split()


def ps1_steps() -> list[str]:
    match = re.search(r"^\$Steps\s*=\s*@\(([^)]*)\)", PS1.read_text(), re.MULTILINE)
    assert match, "run_pipeline.ps1 must declare $Steps = @(...)"
    return re.findall(r'"([^"]+)"', match.group(1))


def test_both_scripts_run_the_same_ott_steps_in_the_same_order():
    assert sh_steps() == ps1_steps() == PIPELINE_STEPS
    assert set(PIPELINE_STEPS) <= set(COMMANDS)


def test_both_scripts_invoke_ott_once_per_step_from_the_step_list():
    sh, ps1 = SH.read_text(), PS1.read_text()
    assert re.search(r'for step in "\$\{STEPS\[@\]\}"', sh)
    assert re.search(r'"\$VENV_BIN/ott" "\$step"', sh)
    assert re.search(r"foreach \(\$Step in \$Steps\)", ps1)
    assert re.search(r"& \$Ott \$Step @StepArgs", ps1)
    assert r".venv\Scripts" in ps1  # the Windows venv layout


def test_both_scripts_route_the_generator_flags_of_ott_run():
    flags = [f"--{name.replace('_', '-')}" for name in GENERATOR_FLAGS]
    ps1_flags = re.search(r"^\$GeneratorFlags\s*=\s*@\(([^)]*)\)", PS1.read_text(), re.MULTILINE)
    assert ps1_flags and re.findall(r'"([^"]+)"', ps1_flags.group(1)) == flags
    sh_case = re.search(r"^\s*(--seed\|[^)]*)\)$", SH.read_text(), re.MULTILINE)
    assert sh_case and sh_case.group(1).split("|") == flags


def test_shell_script_is_strict():
    assert "set -euo pipefail" in SH.read_text()
    assert 'ErrorActionPreference = "Stop"' in PS1.read_text()


# ------------------------------------------------------------ run_pipeline.sh behaviour


@pytest.fixture
def fake_project(tmp_path: Path) -> Path:
    """A copy of run_pipeline.sh next to a fake .venv/bin/ott that logs its argv."""
    root = tmp_path / "project"
    (root / ".venv" / "bin").mkdir(parents=True)
    shutil.copy(SH, root / "run_pipeline.sh")
    ott = root / ".venv" / "bin" / "ott"
    ott.write_text(
        "#!/usr/bin/env bash\n"
        'echo "$*" >> "$(dirname "$0")/../../calls.log"\n'
        'if [[ "$1" == "${FAIL_STEP:-}" ]]; then echo "ott $1: error: boom" >&2; exit 3; fi\n'
    )
    ott.chmod(ott.stat().st_mode | stat.S_IXUSR)
    return root


def run_script(root: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k != "OTT_DATA_DIR"}
    environ.update({"OTT_SKIP_SETUP": "1", **env})
    return subprocess.run(
        ["bash", str(root / "run_pipeline.sh"), *args], env=environ, capture_output=True, text=True, timeout=60
    )


def calls(root: Path) -> list[str]:
    log = root / "calls.log"
    return log.read_text().splitlines() if log.exists() else []


def test_run_routes_flags_to_the_steps_that_take_them(fake_project, tmp_path):
    data = tmp_path / "d"
    data.mkdir()
    result = run_script(
        fake_project, "run", "--data-dir", str(data), "--days", "2", "--seed=7", "--direct_num_workers=2"
    )
    assert result.returncode == 0, result.stderr
    d = f"--data-dir {data}"
    assert calls(fake_project) == [
        f"generate {d} --days 2 --seed=7",
        f"silver {d} --direct_num_workers=2",
        f"gold {d} --direct_num_workers=2",
        f"warehouse {d}",
        f"analytics {d}",
        f"report {d}",
    ]
    assert f"report:    {data}/reports/analysis_report.txt" in result.stdout
    assert f"dashboard: {data}/reports/dashboard.html" in result.stdout
    assert re.search(r"step silver done in \d+ s", result.stdout)


def test_run_skip_generate_and_data_dir_from_env(fake_project, tmp_path):
    result = run_script(fake_project, "run", "--skip-generate", OTT_DATA_DIR=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert [c.split()[0] for c in calls(fake_project)] == PIPELINE_STEPS[1:]
    assert all(f"--data-dir {tmp_path}" in c for c in calls(fake_project))


def test_a_failing_step_stops_the_run_with_a_clear_message(fake_project, tmp_path):
    result = run_script(fake_project, "run", "--data-dir", str(tmp_path), FAIL_STEP="silver")
    assert result.returncode == 1
    assert "ERROR: step 'silver' failed (exit 3)" in result.stderr
    assert [c.split()[0] for c in calls(fake_project)] == ["generate", "silver"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("frobnicate",), "unknown mode 'frobnicate'"),
        (("run", "stray"), "unexpected argument 'stray'"),
        (("run", "--skip-generate", "--days", "2"), "generator flags make no sense with --skip-generate"),
        (("airflow", "--port", "1"), "the airflow mode takes no arguments"),
    ],
)
def test_bad_invocations_fail_with_one_line(fake_project, args, message):
    result = run_script(fake_project, *args)
    assert result.returncode == 1
    assert message in result.stderr and result.stderr.strip().count("\n") == 0
    assert calls(fake_project) == []
