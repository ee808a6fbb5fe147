"""`lotse serve` sends nothing to Gradio's servers, whatever the environment says, and its
start-up banner tells how to let a shop's pages use the chat widget."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import httpx

from bench.servers import free_port, start_lotse_serve, stop

REPO = Path(__file__).resolve().parents[3]


class RecordingProxy:
    """A proxy that forwards nothing: it keeps the first line of every request a client
    sends through it (``CONNECT api.gradio.app:443 …``) and hangs up."""

    def __init__(self) -> None:
        self.port = free_port()
        self.requests: list[str] = []
        self.sock = socket.create_server(("127.0.0.1", self.port))
        self.sock.settimeout(0.5)
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    self.requests.append(conn.recv(4096).split(b"\r\n", 1)[0].decode("latin-1"))
                except OSError:
                    pass

    def close(self) -> None:
        self.running = False
        self.thread.join(timeout=5)
        self.sock.close()


def test_serve_sends_no_gradio_analytics_and_says_how_to_allow_a_widget_page(tmp_path):
    proxy = RecordingProxy()
    via = f"http://127.0.0.1:{proxy.port}"
    # A user's environment that asks for Gradio's analytics, and routes all traffic through
    # a proxy that records where it was meant to go.
    env = {**os.environ, "LOTSE_HOME": str(tmp_path / "home"), "LOTSE_EMBEDDING__MODE": "fake",
           "GRADIO_ANALYTICS_ENABLED": "True", "HTTPS_PROXY": via, "HTTP_PROXY": via,
           "ALL_PROXY": via, "https_proxy": via, "http_proxy": via, "NO_PROXY": "",
           "no_proxy": ""}
    subprocess.run([sys.executable, "-m", "bot.cli", "ingest", str(REPO / "docs_corpus")],
                   env=env, check=True, capture_output=True, cwd=REPO)
    proc, url, banner = start_lotse_serve(env, timeout=120)
    try:
        for page in ("/", "/login", "/widget.js"):
            assert httpx.get(url + page, timeout=30).status_code == 200
        # Gradio checks its version in a thread as each page is built; give it the time.
        deadline = 5.0
        while deadline > 0 and not proxy.requests:
            threading.Event().wait(0.5)
            deadline -= 0.5
    finally:
        stop(proc)
        proxy.close()
    assert proxy.requests == []
    assert "server.widget_origins" in banner and "LOTSE_SERVER__WIDGET_ORIGINS" in banner
    assert f'<script src="{url}/widget.js"' in banner
