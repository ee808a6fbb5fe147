"""The attack suite runs against real `lotse serve` processes over HTTP (and chromium where
rendering matters). One server keeps the default (no trusted proxy); one trusts a proxy on
this host, so tests can speak for several client addresses."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import start_lotse_serve, stop

REPO = Path(__file__).resolve().parents[2]


def _serve(home: Path, **env_extra: str):
    env = {**os.environ, "LOTSE_HOME": str(home), "LOTSE_EMBEDDING__MODE": "fake", **env_extra}
    subprocess.run([sys.executable, "-m", "bot.cli", "ingest", str(REPO / "docs_corpus")],
                   env=env, check=True, capture_output=True, cwd=REPO)
    proc, url, banner = start_lotse_serve(env, timeout=90)
    return proc, {"url": url, "pid": proc.pid, "home": home,
                  "logins": dict(re.findall(r"login '(\w+)' \(\w+\): (\S+)", banner)),
                  "tokens": dict(re.findall(r"REST token \((\w+)\): (\S+)", banner))}


@pytest.fixture(scope="session")
def target(tmp_path_factory):
    """`lotse serve` as installed: no trusted proxy."""
    proc, info = _serve(tmp_path_factory.mktemp("target"))
    yield info
    stop(proc)


@pytest.fixture(scope="session")
def proxied(tmp_path_factory):
    """`lotse serve` behind a (pretend) reverse proxy on this host, configured as trusted."""
    proc, info = _serve(tmp_path_factory.mktemp("proxied"),
                        LOTSE_SERVER__TRUSTED_PROXIES='["127.0.0.1"]')
    yield info
    stop(proc)


def rss_mb(pid: int) -> float:
    """Resident memory of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")
