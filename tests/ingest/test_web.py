"""Web sources against a real local site (tests/help_center.py): a crawl, a sitemap,
robots.txt, a redirect, a 404, a link loop, a very large page, and a second run after the
site changed."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from bot.wiring import build_engine
from kb.settings import WebSourceSettings
from kb.types import AUDIENCES
from bench.help_center import HelpCenter, page
from bench.servers import REPO, uvicorn_thread

BOILERPLATE = ("Cookies", "Newsletter", "Impressum", "Weitere Themen", "Alle akzeptieren")


@pytest.fixture
def site():
    center = HelpCenter.sample()
    with uvicorn_thread(center.app()) as url:
        yield center, url


@pytest.fixture
def engine(settings, fake_embedder):
    settings.ingest.max_file_mb = 0.5  # /gross is about 1.4 MB
    settings.ingest.web_delay_seconds = 0.0
    settings.ingest.web_allow_loopback = True  # the help center is served on this machine
    return build_engine(settings, embedder=fake_embedder)


def stored(engine) -> dict[str, list]:
    gen = engine.store.current(force=True)
    out: dict[str, list] = {}
    for audience in AUDIENCES:
        for chunk, _ in gen.chunks(audience):
            out.setdefault(chunk.source, []).append(chunk)
    return out


def test_a_crawl_reads_the_site_as_a_polite_visitor(engine, site):
    center, url = site
    report = engine.syncer.sync(sources=[WebSourceSettings(url=url + "/", mode="crawl")])
    pages = stored(engine)
    assert set(pages) == {f"{url}{p}" for p in ("/", "/hilfe/versand", "/hilfe/ruecksendung",
                                                 "/hilfe/wartung", "/schleife/a", "/schleife/b")}
    # The redirect is followed within the host and read once, under its target.
    assert center.hits["/alt/versandkosten"] == 1 and center.hits["/hilfe/versand"] == 1
    assert center.hits["/schleife/a"] == 1 and center.hits["/schleife/b"] == 1  # no loop
    assert "/intern/margen" not in center.hits  # robots.txt forbids it: never asked for
    skipped = dict(report.skipped)
    assert "robots.txt" in skipped[f"{url}/intern/margen"]
    assert skipped[f"{url}/hilfe/geschenkgutschein"] == "HTTP 404"
    assert "over the limit" in dict(report.failed)[f"{url}/gross"]
    # The main content only: navigation, cookie banner, sidebar and footer are left out.
    text = " ".join(c.text for chunks in pages.values() for c in chunks)
    assert "12,90 €" in text and not any(b in text for b in BOILERPLATE)
    versand = pages[f"{url}/hilfe/versand"]
    assert versand[0].title == "Versand" and versand[0].audience == "public"
    # Citations name the page's URL.
    answer = engine.chain.ask("Was kostet der Expressversand?")
    assert answer.citations and answer.citations[0].source == f"{url}/hilfe/versand"
    assert report.web[0]["fetched"] == 6 and report.published


def test_a_second_run_reads_only_what_changed(engine, site, fake_embedder):
    center, url = site
    source = WebSourceSettings(url=url + "/", mode="crawl")
    engine.syncer.sync(sources=[source])
    before = stored(engine)
    calls = fake_embedder.calls

    unchanged = engine.syncer.sync(sources=[source])
    assert fake_embedder.calls == calls and not unchanged.published
    assert unchanged.web[0]["not_modified"] == 6 and unchanged.web[0]["fetched"] == 0

    center.pages["/hilfe/versand"] = center.pages["/hilfe/versand"].replace("12,90 €", "14,90 €")
    del center.pages["/hilfe/wartung"]  # gone: 404
    center.failing.add("/hilfe/ruecksendung")  # down for a moment: keep what we have
    changed = engine.syncer.sync(sources=[source])
    after = stored(engine)
    assert changed.updated == [f"{url}/hilfe/versand"]
    assert changed.removed == [f"{url}/hilfe/wartung"]
    assert dict(changed.failed)[f"{url}/hilfe/ruecksendung"] == "HTTP 503"
    assert [c.id for c in after[f"{url}/hilfe/ruecksendung"]] == \
        [c.id for c in before[f"{url}/hilfe/ruecksendung"]]
    assert "14,90 €" in " ".join(c.text for c in after[f"{url}/hilfe/versand"])
    # Pages whose HTML changes but whose text does not are not embedded again.
    center.failing.clear()
    center.pages["/schleife/a"] = center.pages["/schleife/a"].replace("</body>",
                                                                      "<!-- csrf 123 --></body>")
    calls = fake_embedder.calls
    again = engine.syncer.sync(sources=[source])
    assert f"{url}/schleife/a" in again.unchanged and fake_embedder.calls == calls


def test_a_sitemap_and_a_page_that_left_it(engine, site):
    center, url = site
    center.sitemap = ["/hilfe/versand", "/hilfe/ruecksendung", "/intern/margen",
                      "/hilfe/geschenkgutschein"]
    source = WebSourceSettings(url=url + "/sitemap.xml")
    report = engine.syncer.sync(sources=[source])
    assert set(stored(engine)) == {f"{url}/hilfe/versand", f"{url}/hilfe/ruecksendung"}
    assert report.counts()["added"] == 2
    # Out of the sitemap but still on the site: kept (only a page that is gone is removed).
    center.sitemap = ["/hilfe/versand"]
    assert engine.syncer.sync(sources=[source]).removed == []
    del center.pages["/hilfe/ruecksendung"]
    assert engine.syncer.sync(sources=[source]).removed == [f"{url}/hilfe/ruecksendung"]


def test_folders_and_web_sources_live_side_by_side(engine, site, corpus_copy):
    _center, url = site
    engine.syncer.sync([corpus_copy])
    files = len(stored(engine))
    engine.syncer.sync(sources=[WebSourceSettings(url=url + "/hilfe/versand")])
    assert len(stored(engine)) == files + 1
    report = engine.syncer.sync([corpus_copy])  # the folder again: the page stays
    assert report.removed == [] and len(stored(engine)) == files + 1


@pytest.mark.usefixtures("subprocesses")
def test_lotse_ingest_url_from_the_command_line(site, tmp_path):
    center, url = site
    env = {**os.environ, "LOTSE_HOME": str(tmp_path / "home"), "LOTSE_EMBEDDING__MODE": "fake",
           "LOTSE_INGEST__MAX_FILE_MB": "0.5", "LOTSE_INGEST__WEB_DELAY_SECONDS": "0",
           "LOTSE_INGEST__WEB_ALLOW_LOOPBACK": "true"}

    def lotse(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "bot.cli", "ingest", *args], env=env,
                              capture_output=True, text=True, cwd=REPO, timeout=300)

    done = lotse(url + "/", "--crawl", "--max-pages", "4", "--json")
    assert done.returncode == 0, done.stderr  # /gross is beyond the first four pages
    report = json.loads(done.stdout)
    # Four pages asked for: the start page, two help pages, and /kontakt (404).
    assert report["added"] == 3 and report["web"][0]["source"] == url + "/"
    assert {"file": f"{url}/kontakt", "reason": "HTTP 404"} in report["skipped_files"]
    assert any("max_pages=4" in w["message"] for w in report["warnings"])
    assert "web " in lotse(url + "/", "--crawl", "--max-pages", "4").stdout
    # The admin sees CLI runs too, with who ran them.
    from bot.chat.state import StateStore

    runs = StateStore(f"sqlite:///{tmp_path / 'home' / 'state.db'}").ingest_runs()
    assert [r.trigger for r in runs] == ["cli", "cli"] and runs[0].by.startswith("cli")
    assert runs[0].targets == [url + "/"] and runs[1].report["added"] == 3
    assert "--max-pages" in lotse(url + "/", "--crawl", "--max-pages", "0").stderr

    bad = lotse("ftp://example.org/x", "--crawl")
    assert bad.returncode == 1 and "not an http(s) URL" in bad.stderr

    # Saved in the settings, a source is re-ingested by `lotse ingest` without arguments.
    env["LOTSE_INGEST__SOURCES"] = json.dumps([{"url": url + "/hilfe/wartung"}])
    env["LOTSE_SERVER__INGEST_ROOTS"] = "[]"
    saved = lotse("--json")
    assert saved.returncode == 0, saved.stderr
    assert json.loads(saved.stdout)["added"] == 1


def test_pages_that_are_not_html_are_read_by_their_type(engine, site):
    center, url = site
    center.pages["/hilfe/versand"] = page("Versand", "<p>Siehe <a href='/hilfe/tabelle.txt'>"
                                          "Tabelle</a>.</p>")
    app = center.app()

    async def text(request):
        from starlette.responses import PlainTextResponse
        return PlainTextResponse("Versandkosten Österreich: 9,90 €. Schweiz: 19,90 €.")

    from starlette.routing import Route
    app.router.routes.insert(0, Route("/hilfe/tabelle.txt", text))
    with uvicorn_thread(app) as other:
        engine.syncer.sync(sources=[WebSourceSettings(url=other + "/hilfe/tabelle.txt")])
    texts = {s: " ".join(c.text for c in cs) for s, cs in stored(engine).items()}
    assert "19,90 €" in texts[f"{other}/hilfe/tabelle.txt"]


def test_a_source_s_audience_holds_through_every_later_read(engine, site):
    center, url = site
    source = WebSourceSettings(url=url + "/hilfe/versand", audience="internal")
    engine.syncer.sync(sources=[source])
    [chunk, *_] = stored(engine)[f"{url}/hilfe/versand"]
    assert chunk.audience == "internal"
    assert not engine.chain.ask("Was kostet der Expressversand?").citations  # customer view
    assert engine.chain.ask("Was kostet der Expressversand?", view="agent").citations
    # Read again alone (the document browser's re-ingest): still internal.
    engine.syncer.sync(only={(f"web:{url}/hilfe/versand", f"{url}/hilfe/versand")})
    assert {c.audience for c in stored(engine)[f"{url}/hilfe/versand"]} == {"internal"}


def test_a_stored_page_read_with_another_audience_is_fetched_whole_again(engine, site):
    center, url = site
    engine.syncer.sync(sources=[WebSourceSettings(url=url + "/hilfe/versand")])
    report = engine.syncer.sync(sources=[WebSourceSettings(url=url + "/hilfe/versand")],
                                audience="internal")
    assert report.updated == [f"{url}/hilfe/versand"]  # not a 304 "unchanged"
    assert {c.audience for c in stored(engine)[f"{url}/hilfe/versand"]} == {"internal"}


def test_a_page_that_moves_with_the_same_content_is_kept_under_its_new_address(engine, site):
    center, url = site
    source = WebSourceSettings(url=url + "/", mode="crawl")
    engine.syncer.sync(sources=[source])
    center.pages["/hilfe/versand-neu"] = center.pages.pop("/hilfe/versand")  # same ETag
    center.redirects["/hilfe/versand"] = "/hilfe/versand-neu"
    report = engine.syncer.sync(sources=[source])
    assert report.added == [f"{url}/hilfe/versand-neu"]
    assert report.removed == [f"{url}/hilfe/versand"]
    assert "12,90 €" in " ".join(c.text for c in stored(engine)[f"{url}/hilfe/versand-neu"])


def test_traps_cost_one_page_each_and_stop_nothing(engine, site):
    center, url = site
    center.pages["/"] = center.pages["/"].replace(
        "</article>", "<a href='http://[oops/'>kaputt</a><a href='/leer'>leer</a></article>")
    center.pages["/leer"] = ("<html><head><meta name='robots' content='noindex'></head><body>"
                             "<p>Nur eine Linkliste für Suchmaschinen, nichts zum Lesen.</p>"
                             "<a href='/hilfe/wartung'>Wartung</a></body></html>")
    report = engine.syncer.sync(sources=[WebSourceSettings(url=url + "/", mode="crawl")])
    pages = stored(engine)
    assert f"{url}/leer" not in pages and f"{url}/hilfe/wartung" in pages
    assert "noindex" in dict(report.skipped)[f"{url}/leer"]


def test_the_same_page_under_two_sources_is_read_once(engine, site):
    center, url = site
    engine.syncer.sync(sources=[WebSourceSettings(url=url + "/", mode="crawl")])
    report = engine.syncer.sync(sources=[WebSourceSettings(url=url + "/hilfe/versand")])
    assert "read already" in dict(report.skipped)[f"{url}/hilfe/versand"]
    assert not report.failed and len(stored(engine)[f"{url}/hilfe/versand"]) >= 1
    # No duplicate chunk ids wedge the store: the crawl goes on as before.
    again = engine.syncer.sync(sources=[WebSourceSettings(url=url + "/", mode="crawl")])
    assert [f for f, _ in again.failed] == [f"{url}/gross"]


def test_an_unreachable_robots_txt_keeps_what_is_stored(engine, site):
    center, url = site
    source = WebSourceSettings(url=url + "/", mode="crawl")
    engine.syncer.sync(sources=[source])
    before = set(stored(engine))
    app = center.app()

    async def down(request):
        from starlette.responses import PlainTextResponse
        return PlainTextResponse("kaputt", status_code=503)

    from starlette.routing import Route
    app.router.routes.insert(0, Route("/robots.txt", down))
    with uvicorn_thread(app) as other:
        report = engine.syncer.sync(sources=[WebSourceSettings(url=other + "/", mode="crawl")])
    assert report.failed and all("robots.txt unreachable" in r for _, r in report.failed)
    assert set(stored(engine)) == before  # nothing of the other address was read


def test_an_audience_change_that_cannot_be_read_leaves_the_page_out(engine, site):
    from ingest.sync import override_key

    center, url = site
    engine.syncer.sync(sources=[WebSourceSettings(url=url + "/hilfe/versand")])
    center.failing.add("/hilfe/versand")
    root = f"web:{url}/hilfe/versand"
    report = engine.syncer.sync(only={(root, f"{url}/hilfe/versand")}, overrides={
        override_key(root, f"{url}/hilfe/versand"): {"audience": "internal", "by": "test"}})
    assert report.published and f"{url}/hilfe/versand" not in stored(engine)
    assert engine.store.current(force=True).info["overrides"]  # the choice is kept
    center.failing.clear()
    engine.syncer.sync(sources=[WebSourceSettings(url=url + "/hilfe/versand")])
    assert {c.audience for c in stored(engine)[f"{url}/hilfe/versand"]} == {"internal"}


def test_a_gzip_bomb_of_a_sitemap_is_refused_within_the_limit(engine, site):
    import gzip

    from starlette.responses import Response
    from starlette.routing import Route

    center, url = site
    bomb = gzip.compress(b"<" + b"a" * (50 * 2**20))  # 50 MB unpacked, about 50 kB packed

    async def sitemap(request):
        return Response(bomb, media_type="application/gzip")

    app = center.app()
    app.router.routes.insert(0, Route("/sitemap.xml.gz", sitemap))
    with uvicorn_thread(app) as other:
        report = engine.syncer.sync(sources=[WebSourceSettings(url=other + "/sitemap.xml.gz")])
    [(source, reason)] = report.failed  # the sitemap could not be read: a failure, exit 3
    assert source == other + "/sitemap.xml.gz" and "over the limit" in reason


def test_an_address_that_cannot_be_read_is_a_failure_and_one_page_is_stored_once(engine, site):
    center, url = site
    for asked in (url + "/fehlt", url + "/intern/margen"):
        report = engine.syncer.sync(sources=[WebSourceSettings(url=asked)])
        assert [f for f, _ in report.failed] == [asked]  # `lotse ingest` exits 3
    center.pages["/index.html"] = center.pages["/"]
    center.pages["/"] = center.pages["/"].replace("</article>",
                                                  "<a href='/index.html'>Start</a></article>")
    center.pages["/index.html"] = center.pages["/"]
    report = engine.syncer.sync(sources=[WebSourceSettings(url=url + "/", mode="crawl")])
    assert "the same page as" in dict(report.skipped)[f"{url}/index.html"]
    assert f"{url}/index.html" not in stored(engine)


def test_robots_wildcards_and_end_anchors_are_obeyed(engine, site):
    center, url = site
    center.robots = "User-agent: *\nDisallow: /intern/\nDisallow: /*wartung$\n"
    report = engine.syncer.sync(sources=[WebSourceSettings(url=url + "/", mode="crawl")])
    assert "/hilfe/wartung" not in center.hits  # "/*wartung$" matches it: never asked for
    assert "robots.txt" in dict(report.skipped)[f"{url}/hilfe/wartung"]
    assert center.hits["/hilfe/versand"] == 1  # what the rules do not match is read
