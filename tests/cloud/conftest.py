"""A GCS emulator for the cloud tests: ``gcp-storage-emulator`` (PyPI, pure Python) on
127.0.0.1, in memory, started once per test session and always stopped."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

EMULATOR_BIN = Path(sys.executable).parent / "gcp-storage-emulator"
BUCKET = "ott-test"


@dataclass(frozen=True)
class GcsEmulator:
    host: str  # http://127.0.0.1:PORT, the value of STORAGE_EMULATOR_HOST
    bucket: str

    def env(self) -> dict[str, str]:
        """What a subprocess needs to use the emulator with no credentials at all."""
        return {
            "STORAGE_EMULATOR_HOST": self.host,
            "GOOGLE_CLOUD_PROJECT": "test-project",
            "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false",
        }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_listening(port: int, proc: subprocess.Popen, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gcp-storage-emulator exited with {proc.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"gcp-storage-emulator did not listen on 127.0.0.1:{port} within {seconds} s")


@pytest.fixture(scope="session")
def gcs_emulator(tmp_path_factory) -> GcsEmulator:
    if not EMULATOR_BIN.exists():
        pytest.skip(f"gcp-storage-emulator is not installed at {EMULATOR_BIN}")
    port = _free_port()
    log = tmp_path_factory.mktemp("gcs-emulator") / "emulator.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(EMULATOR_BIN), "start", "--host=127.0.0.1", f"--port={port}", "--in-memory",
             f"--default-bucket={BUCKET}"],
            stdout=out, stderr=subprocess.STDOUT, env={**os.environ},
        )  # fmt: skip
    try:
        _wait_until_listening(port, proc)
        yield GcsEmulator(f"http://127.0.0.1:{port}", BUCKET)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture
def gcs_env(gcs_emulator, monkeypatch) -> GcsEmulator:
    """The emulator, also for this test process (Beam's FileSystems, pyiceberg)."""
    from beam_pipelines import fileio

    for name, value in gcs_emulator.env().items():
        monkeypatch.setenv(name, value)
    fileio.connect_anonymously_to_emulator()
    return gcs_emulator
