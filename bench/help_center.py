"""A help center for the crawler to read: a real HTTP site (Starlette on uvicorn) whose
pages the tests change between two runs, with the traps a real site has.

    >>> site = HelpCenter.sample()
    >>> with uvicorn_thread(site.app()) as url: ...

Every page is wrapped in the same navigation, cookie banner and footer, which the
extractor must leave out. The server answers ``If-None-Match`` with 304 for an unchanged
page, serves ``robots.txt`` and ``sitemap.xml``, and counts the requests it got.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

NAV = ("<header><nav><a href='/'>Start</a> · <a href='/hilfe/versand'>Versand</a> · "
       "<a href='/hilfe/ruecksendung'>Rücksendung</a> · <a href='/kontakt'>Kontakt</a></nav>"
       "</header><div class='cookie-banner' id='cookie-consent'>Wir verwenden Cookies für "
       "Statistik und Werbung. <button>Alle akzeptieren</button></div>")
FOOTER = ("<footer><p>© 2026 Bergpfad Outdoor GmbH · Impressum · Datenschutz · AGB</p>"
          "<p>Newsletter abonnieren und 10 % Rabatt sichern!</p></footer>")


def page(title: str, body: str, links: list[str] = ()) -> str:
    more = "".join(f"<li><a href='{href}'>{href}</a></li>" for href in links)
    return (f"<!doctype html><html lang='de'><head><meta charset='utf-8'><title>{title} – "
            f"Bergpfad Hilfe</title></head><body>{NAV}<main><article><h1>{title}</h1>{body}"
            f"</article><aside><h2>Weitere Themen</h2><ul>{more}</ul></aside></main>{FOOTER}"
            f"</body></html>")


@dataclass
class HelpCenter:
    """Pages by path (HTML text), redirects, failing paths; ``hits`` counts requests."""

    pages: dict[str, str] = field(default_factory=dict)
    redirects: dict[str, str] = field(default_factory=dict)
    failing: set[str] = field(default_factory=set)
    robots: str = "User-agent: *\nDisallow: /intern/\n"
    sitemap: list[str] | None = None
    hits: dict[str, int] = field(default_factory=dict)

    @classmethod
    def sample(cls) -> HelpCenter:
        site = cls()
        site.pages.update({
            "/": page("Hilfe-Center", "<p>Willkommen im Hilfe-Center von Bergpfad Outdoor. Hier "
                      "findest du Antworten rund um Bestellung, Versand und Rücksendung.</p>",
                      ["/hilfe/versand", "/hilfe/ruecksendung", "/alt/versandkosten",
                       "/hilfe/geschenkgutschein", "/intern/margen", "/schleife/a", "/gross",
                       "/hilfe/wartung"]),
            "/hilfe/versand": page("Versand", "<p>Wir liefern innerhalb Deutschlands in 2 bis 3 "
                                   "Werktagen. Der Standardversand kostet 4,90 € und ist ab "
                                   "75 € Bestellwert kostenlos.</p><h2>Express</h2><p>Der "
                                   "Expressversand kostet 12,90 € und kommt am nächsten "
                                   "Werktag.</p>", ["/hilfe/ruecksendung"]),
            "/hilfe/ruecksendung": page("Rücksendung", "<p>Du kannst jeden Artikel innerhalb von "
                                        "30 Tagen kostenlos zurückschicken. Das Etikett liegt "
                                        "dem Paket bei.</p>", ["/hilfe/versand"]),
            "/hilfe/wartung": page("Zeltpflege", "<p>Trockne dein Zelt nach jeder Tour "
                                   "vollständig, bevor du es einlagerst, sonst bildet sich "
                                   "Schimmel.</p>"),
            "/intern/margen": page("Margen", "<p>Unsere Marge auf Zelte beträgt 42 Prozent.</p>"),
            "/schleife/a": page("Schleife A", "<p>Diese Seite verweist auf Seite B, und B "
                                "verweist zurück auf A, immer im Kreis.</p>", ["/schleife/b"]),
            "/schleife/b": page("Schleife B", "<p>Diese Seite verweist zurück auf Seite A, "
                                "damit ein Crawler im Kreis laufen könnte.</p>", ["/schleife/a"]),
            "/gross": page("Riesige Seite", "<p>" + "Sehr langer Text über Wanderschuhe. " *
                           40000 + "</p>"),
        })
        site.redirects["/alt/versandkosten"] = "/hilfe/versand"
        return site

    @classmethod
    def generated(cls, n: int) -> HelpCenter:
        """``n`` topic pages in a tree of hubs (ten links each) below the start page."""
        site = cls()
        topics = [f"/thema/{i}" for i in range(n)]
        hubs = [topics[i:i + 10] for i in range(0, n, 10)]
        site.pages["/"] = page("Hilfe-Center", "<p>Alle Themen des Hilfe-Centers nach "
                               "Bereichen geordnet.</p>", [f"/bereich/{j}" for j in range(len(hubs))])
        for j, hub in enumerate(hubs):
            site.pages[f"/bereich/{j}"] = page(f"Bereich {j}", f"<p>Themen im Bereich {j} des "
                                               "Hilfe-Centers.</p>", hub)
        for i, path in enumerate(topics):
            site.pages[path] = page(
                f"Thema {i}", f"<p>Artikel {i} erklärt, wie Lieferung, Rücksendung und Pflege bei "
                f"Produkt {i} funktionieren. Die Lieferzeit beträgt {2 + i % 4} Werktage.</p>"
                f"<h2>Pflege</h2><p>Produkt {i} reinigst du mit lauwarmem Wasser und lässt es an "
                f"der Luft trocknen.</p>", [topics[(i + 1) % n]])
        return site

    def app(self) -> Starlette:
        async def robots(request: Request) -> Response:
            return PlainTextResponse(self.robots)

        async def sitemap(request: Request) -> Response:
            base = str(request.base_url).rstrip("/")
            paths = self.sitemap if self.sitemap is not None else list(self.pages)
            urls = "".join(f"<url><loc>{base}{p}</loc></url>" for p in paths)
            return Response(f"<?xml version='1.0' encoding='UTF-8'?><urlset xmlns="
                            f"'http://www.sitemaps.org/schemas/sitemap/0.9'>{urls}</urlset>",
                            media_type="application/xml")

        async def any_page(request: Request) -> Response:
            path = request.url.path
            self.hits[path] = self.hits.get(path, 0) + 1
            if path in self.redirects:
                return RedirectResponse(self.redirects[path], status_code=301)
            if path in self.failing:
                return PlainTextResponse("Wartung", status_code=503)
            if path not in self.pages:
                return PlainTextResponse("Nicht gefunden", status_code=404)
            html = self.pages[path]
            etag = '"' + hashlib.sha256(html.encode()).hexdigest()[:16] + '"'
            if request.headers.get("if-none-match") == etag:
                return Response(status_code=304, headers={"ETag": etag})
            return Response(html, media_type="text/html; charset=utf-8", headers={"ETag": etag})

        return Starlette(routes=[Route("/robots.txt", robots), Route("/sitemap.xml", sitemap),
                                 Route("/{path:path}", any_page)])
