<#
.SYNOPSIS
  One-click runner for the OTT analytics pipeline on Windows PowerShell.

.DESCRIPTION
  .\run_pipeline.ps1                  set up the environment (if needed) and run every stage (`ott run`)
  .\run_pipeline.ps1 run [flags]      the same, with `ott run` flags (see below)
  .\run_pipeline.ps1 test [args]      set up the environment (if needed) and run the test suite
  .\run_pipeline.ps1 setup            only set up the environment

  `run` hands its flags to `ott run` (`.venv\Scripts\ott.exe run --help` lists them): the
  stages in the Airflow DAG's order, gates included; e.g. --data-dir DIR, --skip-generate,
  --days N, --users N, --max-quarantine-rate R, and Beam PipelineOptions such as
  --direct_num_workers=2.

  Airflow itself does not run natively on Windows: start it under WSL2 with
  `./run_pipeline.sh airflow` (see docs/airflow.md). Like run_pipeline.sh, this script
  runs `ott run`, whose stage list the Airflow DAG is built from.
  $env:OTT_SKIP_SETUP = "1" uses the existing .venv as it is (no `uv sync`).
#>
Set-StrictMode -Version Latest
$ErrorActionPreference = "Stop"

$Root = Split-Path -Parent $MyInvocation.MyCommand.Path
Set-Location $Root
$UvVersion = "0.13.8"
$Python = if ($env:PYTHON) { $env:PYTHON } else { "python" }
$VenvScripts = Join-Path $Root ".venv\Scripts"
$Ott = Join-Path $VenvScripts "ott.exe"

function Write-Log([string]$Message) {
    Write-Host ("[run_pipeline {0}] {1}" -f (Get-Date -Format "HH:mm:ss"), $Message)
}

function Stop-WithError([string]$Message) {
    Write-Host "[run_pipeline] ERROR: $Message" -ForegroundColor Red
    exit 1
}

function Initialize-Environment {
    if ($env:OTT_SKIP_SETUP -eq "1") {
        if (-not (Test-Path $Ott)) { Stop-WithError "OTT_SKIP_SETUP=1 but there is no environment at .venv\ (run .\run_pipeline.ps1 setup)" }
        return
    }
    # uv lives in its own tiny venv so that `uv sync` never removes it from the project venv.
    $Uv = Join-Path $Root ".tools\Scripts\uv.exe"
    if (-not (Test-Path $Uv)) {
        Write-Log "bootstrapping uv $UvVersion into .tools\"
        & $Python -m venv .tools
        if ($LASTEXITCODE -ne 0) { Stop-WithError "could not create .tools venv (is Python 3.11 installed?)" }
        & (Join-Path $Root ".tools\Scripts\python.exe") -m pip install --quiet "uv==$UvVersion"
        if ($LASTEXITCODE -ne 0) { Stop-WithError "could not install uv" }
    }
    Write-Log "installing locked dependencies (uv sync --frozen)"
    & $Uv sync --frozen --quiet --compile-bytecode --python $Python
    if ($LASTEXITCODE -ne 0) { Stop-WithError "dependency install failed" }
}

function Invoke-Pipeline([string[]]$Arguments) {
    # `ott run` owns the stage list (scripts/stages.py, the DAG's too) and the flag routing.
    $env:PYTHONUNBUFFERED = "1"
    Write-Log ("ott run {0}" -f ($Arguments -join " "))
    & $Ott run @Arguments
    if ($LASTEXITCODE -ne 0) { Stop-WithError "ott run failed (exit $LASTEXITCODE); see the messages above" }
}

$Mode = if ($args.Count -gt 0) { $args[0] } else { "run" }
$Rest = if ($args.Count -gt 1) { [string[]]$args[1..($args.Count - 1)] } else { [string[]]@() }

switch ($Mode) {
    "setup" { Initialize-Environment }
    "test" {
        Initialize-Environment
        Write-Log "running the test suite"
        & (Join-Path $VenvScripts "python.exe") -m pytest -n 2 @Rest
        exit $LASTEXITCODE
    }
    "run" {
        Initialize-Environment
        Invoke-Pipeline $Rest
    }
    "airflow" { Stop-WithError "Airflow does not run natively on Windows: start it under WSL2 with ./run_pipeline.sh airflow (docs/airflow.md)" }
    default { Stop-WithError "unknown mode '$Mode' (expected: run, test, setup; airflow under WSL2)" }
}
