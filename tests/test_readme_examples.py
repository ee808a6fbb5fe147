"""The README's copy-paste examples for developers, run as printed."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

from kb.settings import get_settings
from bench.servers import lotse_api

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def example(heading: str) -> str:
    """The first Python block after ``heading``."""
    section = README.split(f"\n{heading}\n", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def run(code: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {})
    return out.getvalue()


def test_the_langchain_example(default_engine, monkeypatch):
    monkeypatch.setenv("LOTSE_HOME", str(default_engine.settings.home))
    get_settings.cache_clear()
    try:
        printed = run(example("### LangChain"))
    finally:
        get_settings.cache_clear()
    lines = printed.splitlines()
    assert len(lines) == 4 and "12,90 €" in lines[3] and lines[3].endswith("False")


def test_the_openai_example(default_engine, monkeypatch, tmp_path):
    code = example("### OpenAI clients")
    assert "http://127.0.0.1:7860/v1" in code
    with lotse_api(default_engine, tmp_path, []) as api:
        monkeypatch.setenv("LOTSE_TOKEN", api["creds"].token_for("customer"))
        printed = run(code.replace("http://127.0.0.1:7860", api["url"]))
    assert "12,90 €" in printed and "[1] " in printed and printed.rstrip().endswith("False")


def test_the_e_mail_configuration_is_read_as_printed(tmp_path, monkeypatch):
    from kb.settings import LotseSettings

    section = README.split("\n### E-mail\n", 1)[1]
    toml = re.search(r"```toml\n(.*?)```", section, re.S).group(1)
    (tmp_path / "lotse.toml").write_text(toml, encoding="utf-8")
    monkeypatch.setenv("LOTSE_CONFIG", str(tmp_path / "lotse.toml"))
    settings = LotseSettings()
    assert (settings.mail.host, settings.mailbox.host) == ("smtp.example.org", "imap.example.org")
    assert settings.mailbox.poll_seconds == 60 and settings.mailbox.security == "tls"


def test_the_web_sources_configuration_is_read_as_printed(tmp_path, monkeypatch):
    from kb.settings import LotseSettings

    section = README.split("\n## Web sources\n", 1)[1]
    toml = re.search(r"```toml\n(.*?)```", section, re.S).group(1)
    (tmp_path / "lotse.toml").write_text(toml, encoding="utf-8")
    monkeypatch.setenv("LOTSE_CONFIG", str(tmp_path / "lotse.toml"))
    ingest = LotseSettings().ingest
    assert ingest.schedule_minutes == 60 and len(ingest.sources) == 2
    assert ingest.sources[1].mode == "crawl" and ingest.sources[1].audience == "internal"
