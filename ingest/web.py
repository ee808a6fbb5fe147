"""Web pages as sources: one page, a sitemap, or a crawl of one host.

    >>> with WebClient(settings.ingest) as client:
    ...     for page in crawl(client, source, previous):
    ...         print(page.url, page.status)

A polite crawler: it reads robots.txt (and its Crawl-delay) before the first page of a
host, says who it is in its User-Agent, waits ``ingest.web_delay_seconds`` between two
requests to a host, follows redirects (of robots.txt too) only within the host, and stops
reading a page at ``ingest.max_file_mb``. It asks with ``If-None-Match`` /
``If-Modified-Since`` for pages it has, so a page the server reports unchanged (304) costs
one small request and no parsing.

Every connection, for robots.txt, sitemaps, pages and each redirect hop, goes through
``ingest.address_guard.PublicTransport``: public addresses only, checked as the connection
is made, so a stored page is checked again on every re-read. A refused address is
reported as ``refused: address not allowed`` and nothing else.

What a fetch says about a stored page decides what happens to it in the sync
(``ingest.sync``): ``ok`` (new text: read again), ``not_modified`` (keep), ``gone``
(404/410, now forbidden by robots.txt, or redirected off the host: remove), ``failed``
(5xx, timeouts, too large, an address refused: keep the stored version and report why).
A crawl visits the start page and the links it finds on the host, breadth first, up to
``max_depth`` clicks and ``max_pages`` pages; for a page that answered 304 the links stored
with it stand in. Stored pages the crawl or sitemap did not reach again are asked for
directly, so only a page that is really gone is removed.
"""

from __future__ import annotations

import logging
import re
import time
import zlib
from collections import deque
from collections.abc import Container, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urldefrag, urljoin, urlsplit

import httpcore
import httpx
from protego import Protego

from ingest.address_guard import REFUSED, AddressRefused, PublicTransport, Resolver
from kb.settings import IngestSettings, WebSourceSettings

log = logging.getLogger(__name__)

# Types the loaders read, by the server's Content-Type.
PAGE_TYPES = {"text/html": ".html", "application/xhtml+xml": ".html", "text/plain": ".txt",
              "text/markdown": ".md", "application/pdf": ".pdf",
              "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx"}
# Links to these are never pages worth asking for.
_NOT_PAGES = re.compile(r"\.(png|jpe?g|gif|svg|webp|ico|css|js|mjs|json|zip|gz|tgz|mp[34]|"
                        r"webm|woff2?|ttf|eot|xml|rss|atom)$", re.I)
_REDIRECTS = (301, 302, 303, 307, 308)
MAX_CRAWL_DELAY = 10.0  # seconds: a longer Crawl-delay would hold the store's writer lock for hours
ROBOTS_BYTES = 500 * 1024  # RFC 9309: at least 500 KiB are read, the rest may be ignored
FORBIDDEN = "robots.txt forbids it"


@dataclass(frozen=True)
class PageState:
    """What the store remembers of a page to ask for it again."""

    etag: str = ""
    last_modified: str = ""
    links: tuple[str, ...] = ()
    fp: str = ""  # how it was read (embedder, chunking, audience): the validators hold for it


@dataclass
class Fetched:
    """One page as the server answered: ``status`` is ok, not_modified, gone, failed or
    skipped (not a page Lotse reads, never stored)."""

    url: str  # where the page is, after redirects within the host
    status: str
    body: bytes = b""
    suffix: str = ""
    etag: str = ""
    last_modified: str = ""
    reason: str = ""
    links: tuple[str, ...] = ()
    asked: str = ""  # the URL asked for, when a redirect moved it


class WebClient:
    """HTTP for the crawler: robots.txt, throttling, redirects within the host, a size cap,
    public addresses only. ``resolver`` and ``network``: see ``GuardedNetwork`` (tests)."""

    def __init__(self, settings: IngestSettings, resolver: Resolver | None = None,
                 network: httpcore.NetworkBackend | None = None) -> None:
        self.settings = settings
        self.max_bytes = int(settings.max_file_mb * 2**20)
        self.transport = PublicTransport(settings.web_allow_loopback, resolver, network)
        # gzip and deflate only: their decompression is bounded here (_Body); httpx would
        # unpack brotli or zstd whole before any size check. No trust_env: no proxy and no
        # .netrc from the environment.
        self._http = httpx.Client(timeout=settings.web_timeout_seconds, follow_redirects=False,
                                  headers={"User-Agent": settings.user_agent,
                                           "Accept-Encoding": "gzip, deflate"},
                                  transport=self.transport, trust_env=False)
        self._robots: dict[str, Protego | str | None] = {}
        self._last: dict[str, float] = {}
        self.requests = 0

    def __enter__(self) -> WebClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    @staticmethod
    def _origin(url: str) -> str:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}"

    def _wait_turn(self, url: str) -> None:
        host = urlsplit(url).hostname or ""
        robots = self._robots.get(self._origin(url))
        asked = robots.crawl_delay(self.settings.user_agent) if isinstance(robots, Protego) \
            else None
        delay = max(self.settings.web_delay_seconds, min(float(asked or 0), MAX_CRAWL_DELAY))
        wait = self._last.get(host, 0.0) + delay - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self._last[host] = time.monotonic()

    def allowed(self, url: str) -> bool | str:
        """True when robots.txt lets Lotse's User-Agent read ``url``, else why not. Read once
        per origin (RFC 9309): none (4xx) allows everything; one that cannot be read (5xx,
        no answer, a redirect to another host, an address refused) forbids everything for
        this run, as the RFC asks for an unreachable one."""
        origin = self._origin(url)
        if origin not in self._robots:
            self._robots[origin] = self._robots_of(origin)
        robots = self._robots[origin]
        if isinstance(robots, str):
            return robots
        if robots is not None and not robots.can_fetch(url, self.settings.user_agent):
            return FORBIDDEN
        return True

    def _robots_of(self, origin: str) -> Protego | str | None:
        """The origin's robots.txt rules, None for none, or why it could not be read."""
        url = f"{origin}/robots.txt"
        try:
            for _ in range(6):  # RFC 9309: at least five redirects, here within the host
                self._wait_turn(url)
                self.requests += 1
                response = self._http.get(url)
                location = response.headers.get("location")
                if response.status_code not in _REDIRECTS or not location:
                    break
                target = urldefrag(urljoin(url, location))[0]
                if urlsplit(target).hostname != urlsplit(url).hostname:
                    # Not followed: a site could send the crawler anywhere, and what
                    # answered there would show in the report.
                    return "robots.txt unreachable (redirects to another host)"
                url = target
            else:
                return "robots.txt unreachable (more than 5 redirects)"
        except AddressRefused:
            return REFUSED
        except (httpx.HTTPError, ValueError) as exc:  # no connection: say so, not "robots.txt"
            return f"{origin} unreachable ({type(exc).__name__}: {exc})"[:200]
        if response.status_code == 200:
            # protego reads wildcards and "$" (RFC 9309); the standard library's parser
            # ignores them, and "Disallow: /*.pdf$" let every PDF through.
            return Protego.parse(response.content[:ROBOTS_BYTES].decode("utf-8", "replace"))
        if response.status_code >= 500:
            return f"robots.txt unreachable (HTTP {response.status_code})"
        return None

    def fetch(self, url: str, previous: PageState | None = None,
              known: Container[str] = ()) -> Fetched:
        """One page, with conditional headers for a page Lotse has. A redirect to a URL in
        ``known`` (read already) is not followed: the answer is that URL, with no body."""
        asked = url
        headers = {}
        if previous and previous.etag:
            headers["If-None-Match"] = previous.etag
        if previous and previous.last_modified:
            headers["If-Modified-Since"] = previous.last_modified
        for _ in range(6):
            allowed = self.allowed(url)
            if allowed is not True:
                return self._not_fetched(url, asked, allowed)
            self._wait_turn(url)
            self.requests += 1
            try:
                with self._http.stream("GET", url, headers=headers) as response:
                    if response.status_code in _REDIRECTS and "location" in response.headers:
                        target = urldefrag(urljoin(url, response.headers["location"]))[0]
                        if urlsplit(target).hostname != urlsplit(url).hostname:
                            return Fetched(url, "gone", reason=f"redirects to another host "
                                           f"({self._origin(target)})", asked=asked)
                        url = target
                        headers = {}  # the validators were the old address's
                        if url in known:
                            return Fetched(url, "skipped", reason="a redirect to a page read "
                                           "already", asked=asked)
                        continue
                    return self._read(url, asked, response)
            except AddressRefused:
                return self._not_fetched(url, asked, REFUSED)
            except (httpx.HTTPError, ValueError) as exc:  # ValueError: a malformed address
                return Fetched(url, "failed", reason=f"{type(exc).__name__}: {exc}"[:200],
                               asked=asked)
        return Fetched(url, "failed", reason="more than 5 redirects", asked=asked)

    @staticmethod
    def _not_fetched(url: str, asked: str, why: str) -> Fetched:
        """A page that was not asked for: robots.txt forbids it (gone), or its robots.txt
        could not be read or its address was refused (failed). A refusal at a redirect hop is
        the page's that was asked for, so a stored page stays while its host misbehaves."""
        if why == FORBIDDEN:
            return Fetched(url, "gone", reason=why, asked=asked)
        if why == REFUSED and url != asked:
            return Fetched(asked, "failed", reason=f"{REFUSED} (redirect to {url})",
                           asked=asked)
        return Fetched(url, "failed", reason=why, asked=asked)

    def _read(self, url: str, asked: str, response: httpx.Response) -> Fetched:
        status = response.status_code
        if status == 304:
            return Fetched(url, "not_modified", asked=asked)
        if status in (404, 410):
            return Fetched(url, "gone", reason=f"HTTP {status}", asked=asked)
        if status != 200:
            return Fetched(url, "failed", reason=f"HTTP {status}", asked=asked)
        kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
        suffix = PAGE_TYPES.get(kind)
        if suffix is None:
            return Fetched(url, "skipped", reason=f"not a page Lotse reads ({kind or 'no type'})",
                           asked=asked)
        try:
            body = self._body(response)
        except (OSError, zlib.error) as exc:
            return Fetched(url, "failed", reason=str(exc) or type(exc).__name__, asked=asked)
        links, index = links_of(body, url) if suffix == ".html" else ((), True)
        if not index:
            return Fetched(url, "gone", reason="the page asks robots not to index it "
                           "(noindex)", links=links, asked=asked)
        return Fetched(url, "ok", body, suffix, response.headers.get("etag", ""),
                       response.headers.get("last-modified", ""), links=links, asked=asked)

    def _body(self, response: httpx.Response) -> bytes:
        """The body, unpacked, at most ``max_bytes`` before and after unpacking."""
        limit = self.max_bytes
        encoding = response.headers.get("content-encoding", "identity").lower().strip()
        if encoding not in ("identity", "", "gzip", "x-gzip", "deflate"):
            raise OSError(f"content encoding {encoding!r} is not read")
        unpack = zlib.decompressobj(47) if encoding != "identity" and encoding else None
        body = bytearray()
        raw = 0
        for part in response.iter_raw():
            raw += len(part)
            body += unpack.decompress(part, limit + 1 - len(body)) if unpack else part
            if raw > limit or len(body) > limit or (unpack and unpack.unconsumed_tail):
                raise OSError(self._too_large(max(raw, len(body)), "over"))
        return bytes(body)

    def _too_large(self, size: int, how: str = "") -> str:
        return (f"page is {how + ' ' if how else ''}{size / 2**20:.2f} MB, over the limit of "
                f"{self.max_bytes / 2**20:.2f} MB (ingest.max_file_mb)")

    def get_text(self, url: str) -> str:
        """A sitemap (gzipped or not), within the same rules and limits as a page."""
        allowed = self.allowed(url)
        if allowed is not True:
            raise OSError(f"{url}: {allowed}")
        self._wait_turn(url)
        self.requests += 1
        try:
            with self._http.stream("GET", url) as response:
                if response.status_code != 200:
                    raise OSError(f"{url}: HTTP {response.status_code}")
                data = self._body(response)
        except AddressRefused:
            raise OSError(f"{url}: {REFUSED}") from None
        except (httpx.HTTPError, zlib.error) as exc:
            raise OSError(f"{url}: {type(exc).__name__}: {exc}") from exc
        if data[:2] == b"\x1f\x8b":  # a .xml.gz file served as it is
            unpack = zlib.decompressobj(47)
            data = unpack.decompress(data, self.max_bytes + 1)
            if len(data) > self.max_bytes or unpack.unconsumed_tail:
                raise OSError(f"{url}: {self._too_large(len(data), 'over')}")
        return data.decode("utf-8", errors="replace")


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []
        self.base = ""
        self.nofollow = False
        self.noindex = False

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "a" and values.get("href") and "nofollow" not in (values.get("rel") or ""):
            self.hrefs.append(values["href"])
        elif tag == "base" and values.get("href"):
            self.base = values["href"]
        elif tag == "meta" and (values.get("name") or "").lower() == "robots":
            content = (values.get("content") or "").lower()
            self.nofollow |= "nofollow" in content or "none" in content
            self.noindex |= "noindex" in content or "none" in content


def links_of(body: bytes, url: str, limit: int = 500) -> tuple[tuple[str, ...], bool]:
    """The page's links to pages of the same host (no fragments, no images or scripts), in
    order, each once (none when it asks robots not to follow them), and whether it lets
    robots index it."""
    parser = _Links()
    try:
        parser.feed(body.decode("utf-8", errors="replace"))
    except Exception:  # a broken page still may have been read up to the break
        pass
    if parser.nofollow:
        return (), not parser.noindex
    host = urlsplit(url).hostname
    found: dict[str, None] = {}
    for href in parser.hrefs:
        try:
            base = urljoin(url, parser.base) if parser.base else url
            target = urldefrag(urljoin(base, href.strip()))[0]
            parts = urlsplit(target)
            same = parts.scheme in ("http", "https") and parts.hostname == host
        except ValueError:  # "http://[oops/": not an address
            continue
        if same and not _NOT_PAGES.search(parts.path):
            found.setdefault(target, None)
        if len(found) >= limit:
            break
    return tuple(found), not parser.noindex


def sitemap_urls(client: WebClient, url: str, limit: int, depth: int = 0) -> list[str]:
    """The page URLs of a sitemap or sitemap index (nested up to 3 deep), on its host only."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                             recover=True)
    root = etree.fromstring(client.get_text(url).encode(), parser)
    if root is None:
        raise OSError(f"{url}: not a sitemap (no XML)")
    origin = urlsplit(url)[:2]
    locs = [(el.text or "").strip() for el in root.iter("{*}loc")]
    urls: list[str] = []
    if etree.QName(root).localname == "sitemapindex":
        for loc in locs:
            if depth < 3 and urlsplit(loc)[:2] == origin:
                urls += sitemap_urls(client, loc, limit - len(urls), depth + 1)
            if len(urls) >= limit:
                break
    else:
        urls = [loc for loc in locs if urlsplit(loc)[:2] == origin]
    return list(dict.fromkeys(urls))[:limit]


@dataclass
class CrawlStats:
    """How a crawl went: for the report and the benchmark. ``fetched``: pages read whole
    (200); ``not_modified``: pages the server reported unchanged (304)."""

    fetched: int = 0
    not_modified: int = 0
    requests: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # the source itself could not be read


def mode_of(source: WebSourceSettings) -> str:
    if source.mode != "auto":
        return source.mode
    path = urlsplit(source.url).path.lower()
    return "sitemap" if path.endswith((".xml", ".xml.gz")) else "page"


def crawl(client: WebClient, source: WebSourceSettings, previous: dict[str, PageState],
          stats: CrawlStats | None = None) -> Iterator[Fetched]:
    """Every page of ``source`` as fetched now, each once, then the stored pages it did not
    reach, asked for directly. ``previous``: what the store has, by URL."""
    stats = stats if stats is not None else CrawlStats()
    started = time.monotonic()
    seen: set[str] = set()

    def fetch(url: str) -> Fetched:
        page = client.fetch(url, previous.get(url), seen)
        if page.status == "not_modified":
            stats.not_modified += 1
            page.links = previous.get(url, PageState()).links
        elif page.status == "ok":
            stats.fetched += 1
        return page

    mode = mode_of(source)
    if mode == "sitemap":
        try:
            urls = sitemap_urls(client, source.url, source.max_pages)
        except Exception as exc:  # unreachable, not XML, empty: nothing removed
            stats.errors.append(f"sitemap not read: {exc}"[:300])
            urls = []
        for url in urls:
            if url in seen:
                continue
            page = fetch(url)
            if page.url in seen:
                continue  # a redirect to a page already read
            seen.update((url, page.url))
            yield page
    else:
        queue: deque[tuple[str, int]] = deque([(urldefrag(source.url)[0], 0)])
        pages = 0
        while queue and pages < (source.max_pages if mode == "crawl" else 1):
            url, depth = queue.popleft()
            if url in seen:
                continue
            page = fetch(url)
            if page.url in seen:
                seen.add(url)
                continue  # a redirect to a page already read
            seen.update((url, page.url))
            pages += 1  # every page asked for counts, so 404s cannot stretch a crawl
            yield page
            if mode == "crawl" and depth < source.max_depth:
                queue.extend((link, depth + 1) for link in page.links if link not in seen)
        if mode == "crawl" and any(url not in seen for url, _ in queue):
            stats.notes.append(f"stopped at max_pages={source.max_pages}; "
                               f"links not followed")
    for url in list(previous):
        if url not in seen:  # not reached this time: gone only if the server says so
            page = fetch(url)
            seen.update((url, page.url))
            yield page
    stats.requests = client.requests
    stats.seconds = time.monotonic() - started
