"""``--setup_file ./pyproject.toml`` for Dataflow: what Beam's stager builds is complete.

The offline Dataflow dry run of ``ott silver`` runs the stager for real: it builds the
sdist with ``python -m build --sdist --no-isolation`` into a ``mkdtemp`` folder (pinned
here with ``TMPDIR``). That sdist is then installed, offline and without dependencies,
into a fresh venv that sees the project's dependencies but not its source tree, and the
pipelines are imported and the packaged SQL read from there — what a Dataflow worker does.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tomllib
from pathlib import Path

import pytest
import setuptools

from tests.conftest import REPO_ROOT

SQL_FOLDERS = ("analytics", "report", "tests")


def test_package_list_covers_every_package_on_disk():
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = setuptools.find_packages(str(REPO_ROOT), include=["scripts*", "beam_pipelines*"])
    assert sorted(p for p in config["packages"] if p != "ott_sql") == sorted(on_disk)
    assert config["package-dir"] == {"ott_sql": "sql"}


@pytest.fixture(scope="module")
def staged_sdist(ott_bin, tmp_path_factory) -> Path:
    """The sdist Beam's stager built during an offline Dataflow dry run of ``ott silver``."""
    tmp = tmp_path_factory.mktemp("stager")
    data_dir = tmp / "data"
    (tmp / "tmpdir").mkdir()
    shutil.copytree(REPO_ROOT / "tests/fixtures/edge_bronze/bronze", data_dir / "bronze")
    proc = subprocess.run(
        [
            ott_bin, "silver",
            "--data-dir", str(data_dir),
            "--runner", "DataflowRunner",
            "--project", "p",
            "--region", "r",
            "--temp_location", "gs://b/tmp",
            "--dry_run=True",
            "--no_auth",
            "--setup_file", "./pyproject.toml",
        ],
        capture_output=True, text=True, timeout=600, cwd=REPO_ROOT, env={**os.environ, "TMPDIR": str(tmp / "tmpdir")},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "dry run: DataflowRunner job built" in proc.stderr
    built = sorted((tmp / "tmpdir").glob("*/ott_analytics-*.tar.gz"))
    assert len(built) == 1, f"expected one sdist from the stager, found {built}"
    return built[0]


def test_staged_sdist_holds_the_code_and_the_sql(staged_sdist):
    with tarfile.open(staged_sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    for module in ("beam_pipelines/silver_pipeline.py", "beam_pipelines/gold_pipeline.py", "beam_pipelines/marts/publish.py",
                   "beam_pipelines/silver/commit.py", "scripts/sql_dir.py", "scripts/generator/bronze.py"):
        assert module in names, module
    for folder in SQL_FOLDERS:
        expected = {f"sql/{folder}/{p.name}" for p in (REPO_ROOT / "sql" / folder).glob("*.sql")}
        assert expected and expected <= names, folder
    schemas = {f"sql/bigquery/schemas/{p.name}" for p in (REPO_ROOT / "sql/bigquery/schemas").glob("*.json")}
    assert schemas and schemas <= names


@pytest.mark.timeout(600)
def test_staged_sdist_installs_and_runs_in_a_clean_venv(staged_sdist, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    # The dependencies (and pip, setuptools) come from the project's environment, listed
    # after the venv's own site-packages; its editable hook (a .pth there) is not run.
    (site / "_ott_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index", "--ignore-installed",
         "--disable-pip-version-check", str(staged_sdist)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert install.returncode == 0, install.stdout[-2000:] + install.stderr[-2000:]
    probe = """
import json
import beam_pipelines, beam_pipelines.silver_pipeline, beam_pipelines.gold_pipeline, scripts.analytics
from scripts.sql_dir import sql_dir
root = sql_dir()
print(json.dumps({
    "package": beam_pipelines.__file__,
    "sql_dir": str(root),
    "sql": {f: sorted(p.name for p in (root / f).glob("*.sql")) for f in ("analytics", "report", "tests")},
    "analytics_sql_dir": str(scripts.analytics.SQL_DIR),
    "schemas": sorted(p.name for p in (root / "bigquery" / "schemas").glob("*.json")),
}))
"""
    proc = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    assert found["package"].startswith(str(site)), found
    assert found["sql_dir"].startswith(str(site)) and found["sql_dir"].endswith("ott_sql"), found
    assert found["analytics_sql_dir"] == found["sql_dir"]
    assert found["schemas"] == sorted(p.name for p in (REPO_ROOT / "sql/bigquery/schemas").glob("*.json"))
    for folder in SQL_FOLDERS:
        assert found["sql"][folder] == sorted(p.name for p in (REPO_ROOT / "sql" / folder).glob("*.sql")), folder
