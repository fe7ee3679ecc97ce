"""The `ott` console command: dispatch, --help everywhere, one-line errors."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import types
from pathlib import Path

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


# ----------------------------------------------------------------- fast help


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_help_does_not_import_beam_or_pandas(command):
    """`ott <cmd> --help` answers before any heavy import (timings: bench/bench_cli.py)."""
    code = (
        "import sys\nfrom scripts.cli import main\n"
        f"try:\n    main([{command!r}, '--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('apache_beam', 'pandas') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert f"ott {command}" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_light_parsers_match_the_stages_defaults():
    from beam_pipelines import cli_args, gold_pipeline, silver_pipeline
    from beam_pipelines.marts import transforms
    from scripts import quality_gate, stages, warehouse

    assert silver_pipeline.build_parser is cli_args.silver_parser
    assert gold_pipeline.build_parser is cli_args.gold_parser
    assert warehouse.build_parser is cli_args.warehouse_parser
    assert cli_args.DEFAULT_BUCKETS == transforms.DEFAULT_BUCKETS == silver_pipeline.DEFAULT_BUCKETS
    assert stages.DEFAULT_MAX_QUARANTINE_RATE == quality_gate.DEFAULT_MAX_QUARANTINE_RATE
    assert stages.DEFAULT_MAX_QUARANTINE_RATE == cli_args.DEFAULT_MAX_QUARANTINE_RATE


# ------------------------------------------------------------------ ott run


class FakeStages:
    """Stands in for the stage modules: records (module, argv); one module may fail."""

    def __init__(self, fail: str | None = None):
        self.calls: list[tuple[str, list[str]]] = []
        self.fail = fail

    def import_module(self, name: str):
        def main(argv):
            self.calls.append((name, list(argv)))
            if name == self.fail:
                from scripts.quality_gate import QualityGateError

                raise QualityGateError("SQL data tests failed on gold: assert_unique_grain returned 2 rows")
            return 0

        return types.SimpleNamespace(main=main)


@pytest.fixture
def fake_stages(monkeypatch):
    from scripts import run_all

    fake = FakeStages()
    monkeypatch.setattr(run_all.importlib, "import_module", fake.import_module)
    return fake


def test_run_follows_the_stage_list_gates_included(fake_stages, tmp_path):
    from scripts.run_all import main

    argv = ["--data-dir", str(tmp_path), "--days", "2", "--max-quarantine-rate", "0.1", "--direct_num_workers=2"]
    assert main(argv) == 0
    d = ["--data-dir", str(tmp_path)]
    assert fake_stages.calls == [
        ("scripts.generate", [*d, "--days", "2"]),
        # silver enforces the quarantine rate before publishing (the DAG's check_quality_gate is dag_only)
        ("beam_pipelines.silver_pipeline", [*d, "--max-quarantine-rate", "0.1", "--direct_num_workers=2"]),
        ("beam_pipelines.gold_pipeline", [*d, "--direct_num_workers=2"]),
        ("scripts.quality_gate", ["--gold-tests", *d]),
        ("scripts.warehouse", d),
        ("scripts.analytics", d),
        ("scripts.report", d),
    ]


def test_run_stops_at_a_failing_gate(fake_stages, tmp_path, capsys):
    from beam_pipelines.cli_support import guarded
    from scripts.run_all import main

    fake_stages.fail = "scripts.quality_gate"
    assert guarded(main, "ott run", ["--data-dir", str(tmp_path), "--skip-generate"]) == 1
    modules = [module for module, _ in fake_stages.calls]
    assert modules == ["beam_pipelines.silver_pipeline", "beam_pipelines.gold_pipeline", "scripts.quality_gate"]
    err = capsys.readouterr().err
    assert err.startswith("ott run: error: SQL data tests failed") and err.count("\n") == 1


@pytest.mark.parametrize("rate", ["-0.1", "1.5"])
def test_run_rejects_a_rate_outside_the_unit_interval(ott_bin, tmp_path, rate):
    result = run(ott_bin, "run", "--max-quarantine-rate", rate, "--data-dir", str(tmp_path))
    assert result.returncode == 1
    assert "--max-quarantine-rate must be within [0, 1]" in result.stderr
    assert result.stderr.strip().count("\n") == 0


# ------------------------------------------------------- README commands parse

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_commands() -> list[str]:
    """`ott …` and `./run_pipeline.sh [run …]` command lines of README.md: shell blocks and inline code."""
    text = README.read_text(encoding="utf-8")
    lines = []
    for block in re.findall(r"```(?:bash|sh|shell|console)\n(.*?)```", text, re.S):
        lines += block.replace("\\\n", " ").splitlines()
    lines += re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", text, flags=re.S))
    found = []
    for line in lines:
        line = line.split(" #", 1)[0].strip()
        if "<" in line:  # a pattern such as `ott <command> --help`, not a command
            continue
        if line.startswith("ott ") or line == "./run_pipeline.sh" or line.startswith("./run_pipeline.sh run"):
            found.append(line)
    return found


def _argv(line: str) -> list[str]:
    words = shlex.split(line)
    return words[1:] if words[0] == "ott" else ["run", *words[2:]]


def _beam_unknown(flags: list[str]) -> list[str]:
    """The flags no Beam PipelineOptions class defines (how Beam itself collects them)."""
    from apache_beam.options.pipeline_options import PipelineOptions, _BeamArgumentParser

    parser = _BeamArgumentParser(allow_abbrev=False)
    for cls in {str(c): c for c in PipelineOptions.__subclasses__()}.values():
        cls._add_argparse_args(parser)
    _, unknown = parser.parse_known_args(flags)
    return [flag for flag in unknown if flag.startswith("-")]


def test_readme_has_ott_commands():
    commands = readme_commands()
    assert any(c.startswith("ott silver") for c in commands) and any("run_pipeline.sh run" in c for c in commands)


@pytest.mark.parametrize("line", readme_commands())
def test_every_ott_command_in_the_readme_parses(line):
    import importlib

    from scripts.cli import HELP_PARSERS

    name, *rest = _argv(line)
    if name in ("--help", "-h") and not rest:
        return  # `ott --help`: test_top_level_help_lists_every_command
    assert name in COMMANDS, f"{line}: no such command"
    if name in HELP_PARSERS:
        module_name, function = HELP_PARSERS[name].split(":")
        parser = getattr(importlib.import_module(module_name), function)()
    else:
        parser = importlib.import_module(COMMANDS[name][0]).build_parser()
    try:
        _, unknown = parser.parse_known_args(rest)
    except SystemExit as exc:
        if exc.code == 0 and ("--help" in rest or "-h" in rest):
            return  # a help invocation: it printed the help
        pytest.fail(f"{line}: rejected by `ott {name}` (see the error above)")
    takes_beam_options = name in HELP_PARSERS or name == "run"
    assert (_beam_unknown(unknown) if takes_beam_options else unknown) == [], f"{line}: unknown flags"
