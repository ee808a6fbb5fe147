"""The crawler and the machine's own network (SSRF): non-public address ranges, DNS
rebinding, robots.txt and page redirects, re-reads of stored pages, and what a refusal
tells.

Nothing here leaves the machine. Two real HTTP servers run on 127.0.0.1: ``site`` plays a
public help center, ``internal`` plays whatever answers at an internal address (its status,
reason phrase, banner and body carry a unique marker). Names are answered by ``Dns``, the
test's name service, and sockets are opened by ``Net``, the test's network: the public
stand-in address reaches ``site``, every other address reaches ``internal``, so a crawl
that was not refused would show up in ``internal.hits``. Every refusal test runs with the
loopback allowance off (the default); the controls turn it on, or use the public
stand-in, and see the same servers reached.
"""

from __future__ import annotations

import ipaddress
import json
import shutil
import ssl
import subprocess
import threading
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpcore
import httpx
import pytest

from bot.chat.admin import AdminService, PathRefused
from bot.wiring import build_engine
from ingest.address_guard import REFUSED, AddressRefused, PublicTransport, address_allowed
from ingest.web import WebClient, crawl
from kb.settings import WebSourceSettings

PUBLIC = "93.184.215.14"  # a public address as a label only: Net routes it to ``site``
MARKER = f"INTERN-{uuid.uuid4().hex[:12]}"
INTERNAL_STATUS = 599  # unusual enough that a report quoting it would be noticed
INTERNAL_RANGES = ["100.64.0.1", "100.100.100.200", "192.0.0.8", "224.0.0.1",
                   "169.254.169.254", "127.0.0.1", "10.0.0.5", "::1", "::ffff:127.0.0.1",
                   "fc00::1", "192.168.1.1", "172.16.0.1", "0.0.0.0", "fe80::1", "ff02::1",
                   "198.18.0.1", "240.0.0.1", "2002:7f00:1::"]

Answer = tuple[int, dict[str, str], bytes]


def html(title: str, text: str, links: str = "") -> Answer:
    body = (f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
            f"<p>{text}</p>{links}</article></body></html>")
    return 200, {"Content-Type": "text/html; charset=utf-8"}, body.encode()


def redirect(location: str) -> Answer:
    return 302, {"Location": location}, b""


class Site:
    """A real HTTP server on 127.0.0.1 that records every request (path, Host header).
    ``pages``: path -> answer, or a function giving one; other paths get ``default``.
    HTTP/1.0: each request comes on a new connection, so each one resolves its name anew."""

    def __init__(self, pages: dict[str, Answer | Callable[[], Answer]],
                 default: Answer = (404, {}, b"nicht da"), reason: str = "",
                 banner: str = "Testsite", tls: ssl.SSLContext | None = None) -> None:
        self.pages, self.hits = pages, []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            server_version, sys_version = banner, ""

            def do_GET(self):
                owner.hits.append((self.path, self.headers.get("Host")))
                answer = owner.pages.get(self.path, default)
                status, headers, body = answer() if callable(answer) else answer
                self.send_response(status, reason or None)
                for key, value in {"Content-Length": str(len(body)), **headers}.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.handle_error = lambda *args: None  # a refused TLS handshake, say
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                        daemon=True)

    def __enter__(self) -> Site:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class Dns:
    """The test's name service: host -> its answers, one per look-up (the last repeats)."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self.answers, self.lookups = answers, []

    def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        answers = self.answers.get(host)
        if not answers:
            raise httpcore.ConnectError(f"host {host!r} not found")
        return answers.pop(0) if len(answers) > 1 else answers[0]


class Net(httpcore.NetworkBackend):
    """The test's network: ``PUBLIC`` reaches ``site``, any other address ``internal``.
    A name (not an address) is looked up in ``dns`` again first, as the operating system
    would: a guard that handed the name on would be rebound here."""

    def __init__(self, dns: Dns, site: Site, internal: Site) -> None:
        self.dns, self.site, self.internal, self.dialled = dns, site, internal, []

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        self.dialled.append(host)
        try:
            address = str(ipaddress.ip_address(host))
        except ValueError:
            address = self.dns(host, port)[0]
        server = self.site if address == PUBLIC else self.internal
        return httpcore.SyncBackend().connect_tcp("127.0.0.1", server.port, timeout,
                                                  local_address, socket_options)


@pytest.fixture
def internal():
    body = f"<html><body><article><h1>{MARKER}</h1><p>ami-id {MARKER}</p></article></body>" \
           "</html>"
    with Site({}, default=(INTERNAL_STATUS, {"Content-Type": "text/html", "X-Secret": MARKER},
                           body.encode()), reason=MARKER, banner=f"Intern/{MARKER}") as server:
        yield server


@pytest.fixture
def site():
    with Site({"/robots.txt": (404, {}, b""),
               "/": html("Hilfe", "Alles zu Versand und Rückgabe.",
                         "<a href='/hilfe/versand'>Versand</a>"),
               "/hilfe/versand": html("Versand", "Der Expressversand kostet 12,90 € und "
                                      "kommt am nächsten Werktag an.")}) as server:
        yield server


@pytest.fixture
def dns():
    return Dns({"hilfe.test": [[PUBLIC]], "metadata.test": [["169.254.169.254"]]})


@pytest.fixture
def net(dns, site, internal):
    return Net(dns, site, internal)


@pytest.fixture
def ingest(settings):
    settings.ingest.web_delay_seconds = 0.0
    assert settings.ingest.web_allow_loopback is False  # the default, under which we test
    return settings.ingest


def nothing_of(internal: Site, *texts: str) -> None:
    """``internal`` was never reached, and no text says anything it would have answered."""
    assert internal.hits == []
    for text in texts:
        assert MARKER not in text and str(INTERNAL_STATUS) not in text and "Intern/" not in text


@pytest.mark.parametrize("address", INTERNAL_RANGES)
def test_every_non_public_range_is_refused_before_a_connection(address, ingest, dns, net,
                                                                internal):
    dns.answers["intern.test"] = [[address]]
    literal = f"[{address}]" if ":" in address else address
    with WebClient(ingest, resolver=dns, network=net) as client:
        pages = list(crawl(client, WebSourceSettings(url="http://intern.test/", mode="crawl"),
                           {}))
        direct = client.fetch(f"http://{literal}/latest/meta-data/")
        with pytest.raises(OSError, match=REFUSED):
            client.get_text("http://intern.test/sitemap.xml")
    assert [(p.url, p.status, p.reason) for p in pages] == \
        [("http://intern.test/", "failed", REFUSED)]
    assert (direct.status, direct.reason) == ("failed", REFUSED)
    assert net.dialled == []
    nothing_of(internal, *(p.reason for p in pages))


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c",
                                     "::ffff:93.184.215.14", "64:ff9b::5db8:d70e"])
def test_public_addresses_pass_and_the_allowance_adds_only_loopback(address):
    assert address_allowed(address) and address_allowed(address, allow_loopback=True)
    assert not address_allowed("127.0.0.1") and address_allowed("127.0.0.1", True)
    assert not address_allowed("64:ff9b::7f00:1", True)  # NAT64 to "127.0.0.1" elsewhere
    assert not any(address_allowed(a, True) for a in INTERNAL_RANGES
                   if a not in ("127.0.0.1", "::1", "::ffff:127.0.0.1"))


def test_a_name_with_one_internal_address_among_public_ones_is_refused(ingest, dns, net,
                                                                        internal):
    dns.answers["gemischt.test"] = [[PUBLIC, "10.0.0.5"]]
    with WebClient(ingest, resolver=dns, network=net) as client:
        page = client.fetch("http://gemischt.test/")
    assert (page.status, page.reason) == ("failed", REFUSED) and net.dialled == []
    nothing_of(internal)


def test_the_loopback_allowance_reaches_the_same_server_and_nothing_else(ingest, dns, net,
                                                                          internal):
    """Control: the harness does reach its target when the guard lets it."""
    ingest.web_allow_loopback = True
    dns.answers["intern.test"] = [["127.0.0.1"]]
    dns.answers["geteilt.test"] = [["100.64.0.1"]]
    internal.pages["/robots.txt"] = (404, {}, b"")
    internal.pages["/"] = html("Lokal", f"Ein Testserver auf diesem Rechner: {MARKER}.")
    with WebClient(ingest, resolver=dns, network=net) as client:
        reached = client.fetch("http://intern.test/")
        shared = client.fetch("http://geteilt.test/")
    assert reached.status == "ok" and MARKER.encode() in reached.body
    assert [path for path, _ in internal.hits] == ["/robots.txt", "/"]
    assert (shared.status, shared.reason) == ("failed", REFUSED)  # loopback only


@pytest.mark.parametrize("allow", [False, True])
def test_a_real_loopback_server_on_the_real_network(allow, ingest, internal):
    """No stand-ins at all: the operating system's sockets, on 127.0.0.1."""
    ingest.web_allow_loopback = allow
    internal.pages["/robots.txt"] = (404, {}, b"")
    internal.pages["/"] = html("Lokal", "Ein Testserver auf diesem Rechner.")
    with WebClient(ingest) as client:
        page = client.fetch(f"http://127.0.0.1:{internal.port}/")
    if allow:
        assert page.status == "ok"
        assert [path for path, _ in internal.hits] == ["/robots.txt", "/"]
    else:
        assert (page.status, page.reason) == ("failed", REFUSED)
        nothing_of(internal, page.reason)


def test_a_rebinding_name_is_connected_at_the_address_that_was_checked(dns, net, site,
                                                                       internal):
    dns.answers["hilfe.test"] = [[PUBLIC], ["127.0.0.1"]]  # public for the check, then not
    with httpx.Client(transport=PublicTransport(resolver=dns, network=net)) as client:
        first = client.get("http://hilfe.test/hilfe/versand")
        assert first.status_code == 200 and "12,90" in first.text
        assert dns.lookups == ["hilfe.test"] and net.dialled == [PUBLIC]  # resolved once
        assert site.hits == [("/hilfe/versand", "hilfe.test")]  # the name in the Host header
        with pytest.raises(AddressRefused, match=REFUSED):  # next connection: looked up anew
            client.get("http://hilfe.test/")
    assert net.dialled == [PUBLIC]
    nothing_of(internal)


def test_the_test_network_would_see_a_connection_made_by_name(dns, net, internal):
    """Control: a guard that checked the name and then connected by name (as before) would
    land on the internal server here, so the rebinding test can fail."""
    dns.answers["hilfe.test"] = [[PUBLIC], ["127.0.0.1"]]
    assert dns("hilfe.test", 80) == [PUBLIC]  # the check
    stream = net.connect_tcp("hilfe.test", 80)  # the connection, by name
    stream.write(b"GET / HTTP/1.0\r\nHost: hilfe.test\r\n\r\n")
    assert str(INTERNAL_STATUS).encode() in stream.read(1024)
    stream.close()
    assert internal.hits == [("/", "hilfe.test")]


def test_a_crawl_of_a_rebinding_site_never_reaches_loopback(ingest, dns, net, site, internal):
    dns.answers["hilfe.test"] = [[PUBLIC], ["127.0.0.1"]]
    with WebClient(ingest, resolver=dns, network=net) as client:
        pages = list(crawl(client, WebSourceSettings(url="http://hilfe.test/", mode="crawl"),
                           {}))
    assert site.hits == [("/robots.txt", "hilfe.test")]  # the one connection it checked
    assert [(p.status, p.reason) for p in pages] == [("failed", REFUSED)]
    assert set(net.dialled) == {PUBLIC}
    nothing_of(internal, *(p.reason for p in pages))


@pytest.mark.parametrize("location", ["http://metadata.test/latest/meta-data/",
                                      "http://169.254.169.254/latest/meta-data/",
                                      "http://127.0.0.1/robots.txt"])
def test_a_robots_txt_redirect_to_another_host_is_not_followed(location, ingest, dns, net,
                                                               site, internal):
    site.pages["/robots.txt"] = redirect(location)
    with WebClient(ingest, resolver=dns, network=net) as client:
        page = client.fetch("http://hilfe.test/hilfe/versand")
    assert (page.status, page.reason) == ("failed",
                                          "robots.txt unreachable (redirects to another host)")
    assert site.hits == [("/robots.txt", "hilfe.test")] and set(net.dialled) == {PUBLIC}
    nothing_of(internal, page.reason)


def test_a_robots_txt_redirect_within_the_host_is_followed(ingest, dns, net, site):
    site.pages["/robots.txt"] = redirect("/regeln/robots.txt")
    site.pages["/regeln/robots.txt"] = (200, {"Content-Type": "text/plain"},
                                        b"User-agent: *\nDisallow: /hilfe/\n")
    with WebClient(ingest, resolver=dns, network=net) as client:
        page = client.fetch("http://hilfe.test/hilfe/versand")
    assert (page.status, page.reason) == ("gone", "robots.txt forbids it")
    assert [path for path, _ in site.hits] == ["/robots.txt", "/regeln/robots.txt"]


def test_a_page_redirect_to_another_host_inside_is_not_followed(ingest, dns, net, site,
                                                                internal):
    site.pages["/alt"] = redirect("http://169.254.169.254/latest/meta-data/")
    with WebClient(ingest, resolver=dns, network=net) as client:
        page = client.fetch("http://hilfe.test/alt")
    assert page.status == "gone" and "another host" in page.reason
    nothing_of(internal, page.reason)


def test_a_redirect_hop_is_checked_again_and_refused(ingest, dns, net, site, internal):
    def moved() -> Answer:  # the name's record changes as the redirect is sent
        dns.answers["hilfe.test"] = [["10.0.0.5"]]
        return redirect("/hilfe/versand")

    site.pages["/umzug"] = moved
    with WebClient(ingest, resolver=dns, network=net) as client:
        page = client.fetch("http://hilfe.test/umzug")
    assert (page.url, page.status) == ("http://hilfe.test/umzug", "failed")
    assert page.reason == f"{REFUSED} (redirect to http://hilfe.test/hilfe/versand)"
    assert [path for path, _ in site.hits] == ["/robots.txt", "/umzug"]
    nothing_of(internal, page.reason)


def test_a_stored_page_whose_host_now_resolves_inside_is_refused_on_every_re_read(
        settings, fake_embedder, dns, net, site, internal):
    settings.ingest.web_delay_seconds = 0.0
    engine = build_engine(settings, embedder=fake_embedder)
    engine.syncer.web_client = lambda ingest: WebClient(ingest, resolver=dns, network=net)
    url = "http://hilfe.test/hilfe/versand"
    source = WebSourceSettings(url=url)
    first = engine.syncer.sync(sources=[source])
    assert first.added == [url] and ("/hilfe/versand", "hilfe.test") in site.hits  # control

    dns.answers["hilfe.test"] = [["10.0.0.5"]]
    settings.ingest.sources = [source]
    admin = AdminService(engine, settings.home / "uploads", [])
    reports = [
        engine.syncer.sync(only={(f"web:{url}", url)}),  # the document's re-read
        engine.syncer.sync(sources=[source]),  # `lotse ingest` of the saved sources
        admin.ingest([], sources=[source], by="schedule", trigger="schedule"),  # schedule
    ]
    for report in reports:
        assert report.failed == [(url, REFUSED)] and not report.removed
        nothing_of(internal, report.summary(), json.dumps(report.to_dict()))
    gen = engine.store.current(force=True)
    assert any(c.source == url for c, _ in gen.chunks("public"))  # the stored version stays


def test_an_admin_cannot_even_ask_for_an_internal_address(settings, fake_embedder):
    admin = AdminService(build_engine(settings, embedder=fake_embedder),
                         settings.home / "uploads", [])
    for url in ("http://100.64.0.1/", "http://[::ffff:127.0.0.1]/", "http://192.0.0.8/"):
        with pytest.raises(PathRefused, match=REFUSED):
            admin.allowed_url(url)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for hilfe.test (openssl), and its key."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl not found")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj",
                    "/CN=hilfe.test", "-addext", "subjectAltName=DNS:hilfe.test",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def test_tls_names_and_verifies_the_host_while_connecting_to_the_checked_address(certificate):
    cert, key = certificate
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(cert, key)
    names: list[str | None] = []
    server_side.sni_callback = lambda sock, name, context: names.append(name)
    dns = Dns({"hilfe.test": [["127.0.0.1"]], "andere.test": [["127.0.0.1"]]})
    transport = PublicTransport(allow_loopback=True, resolver=dns,
                                ssl_context=ssl.create_default_context(cafile=str(cert)))
    with Site({"/": html("Sicher", "Über TLS.")}, tls=server_side) as server, \
            httpx.Client(transport=transport) as client:
        answer = client.get(f"https://hilfe.test:{server.port}/")
        assert answer.status_code == 200 and "Über TLS" in answer.text
        assert names == ["hilfe.test"] and server.hits == [("/", f"hilfe.test:{server.port}")]
        with pytest.raises(httpx.ConnectError, match="certificate"):  # not its name
            client.get(f"https://andere.test:{server.port}/")
