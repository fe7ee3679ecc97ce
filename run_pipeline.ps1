<#
.SYNOPSIS
  One-click runner for the OTT analytics pipeline on Windows PowerShell.

.DESCRIPTION
  .\run_pipeline.ps1                  set up the environment (if needed) and run every stage
  .\run_pipeline.ps1 run [flags]      the same, with flags (see below)
  .\run_pipeline.ps1 test [args]      set up the environment (if needed) and run the test suite
  .\run_pipeline.ps1 setup            only set up the environment

  `run` flags are routed exactly like run_pipeline.sh (and `ott run`):
    --data-dir DIR                                   every step (default: $env:OTT_DATA_DIR or data)
    --seed N --start-date D --days N --users N --events-per-day N --defect-rate R
                                                     `ott generate` only
    --skip-generate                                  process the bronze already in DIR
    any other --flag[=value]                         the Beam stages (silver, gold)

  Airflow itself does not run natively on Windows: start it under WSL2 with
  `./run_pipeline.sh airflow` (see docs/airflow.md). This script calls the same `ott`
  entry points, in the same order, as run_pipeline.sh and the Airflow DAG.
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
# The pipeline steps, in order. run_pipeline.sh lists the same steps (tests/dags check it).
$Steps = @("generate", "silver", "gold", "warehouse", "analytics", "report")
$GeneratorFlags = @("--seed", "--start-date", "--days", "--users", "--events-per-day", "--defect-rate")

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
    $DataDir = if ($env:OTT_DATA_DIR) { $env:OTT_DATA_DIR } else { "data" }
    $SkipGenerate = $false
    $GenArgs = @()
    $BeamArgs = @()
    for ($i = 0; $i -lt $Arguments.Count; $i++) {
        $arg = $Arguments[$i]
        $name = $arg.Split("=", 2)[0]
        if ($arg -eq "--data-dir") {
            if ($i + 1 -ge $Arguments.Count) { Stop-WithError "--data-dir needs a value" }
            $i++; $DataDir = $Arguments[$i]
        } elseif ($name -eq "--data-dir") {
            $DataDir = $arg.Split("=", 2)[1]
        } elseif ($arg -eq "--skip-generate") {
            $SkipGenerate = $true
        } elseif ($GeneratorFlags -contains $name) {
            if ($arg.Contains("=")) { $GenArgs += $arg }
            else {
                if ($i + 1 -ge $Arguments.Count) { Stop-WithError "$arg needs a value" }
                $GenArgs += @($arg, $Arguments[$i + 1]); $i++
            }
        } elseif ($arg.StartsWith("--")) {
            $BeamArgs += $arg
        } else {
            Stop-WithError "unexpected argument '$arg' (flags only; see Get-Help .\run_pipeline.ps1)"
        }
    }
    if ($SkipGenerate -and $GenArgs.Count -gt 0) { Stop-WithError "generator flags make no sense with --skip-generate" }
    $env:OTT_DATA_DIR = $DataDir
    $env:PYTHONUNBUFFERED = "1"

    $Start = Get-Date
    foreach ($Step in $Steps) {
        if ($Step -eq "generate" -and $SkipGenerate) { Write-Log "step generate skipped (--skip-generate)"; continue }
        $StepArgs = @("--data-dir", $DataDir)
        if ($Step -eq "generate") { $StepArgs += $GenArgs }
        if ($Step -eq "silver" -or $Step -eq "gold") { $StepArgs += $BeamArgs }
        Write-Log ("step {0}: ott {0} {1}" -f $Step, ($StepArgs -join " "))
        $T0 = Get-Date
        & $Ott $Step @StepArgs
        if ($LASTEXITCODE -ne 0) { Stop-WithError "step '$Step' failed (exit $LASTEXITCODE); see the messages above" }
        Write-Log ("step {0} done in {1:N0} s" -f $Step, ((Get-Date) - $T0).TotalSeconds)
    }
    $Reports = Join-Path (Resolve-Path $DataDir) "reports"
    Write-Log ("pipeline finished in {0:N0} s" -f ((Get-Date) - $Start).TotalSeconds)
    Write-Log ("report:    {0}" -f (Join-Path $Reports "analysis_report.txt"))
    Write-Log ("dashboard: {0}" -f (Join-Path $Reports "dashboard.html"))
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
