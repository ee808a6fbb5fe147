#!/usr/bin/env python3
"""Convert the evcc-io/docs snapshot (German pages + release device templates) to Markdown.

Usage: python3 convert.py <git-dir of evcc-io/docs> <output docs dir>
Reads everything from the HEAD commit of the given bare git directory.
"""
import os
import re
import subprocess
import sys
import unicodedata
from collections import defaultdict

import yaml
from markdownify import markdownify

GIT = sys.argv[1]
OUT = sys.argv[2]


def git(*args):
    return subprocess.run(["git", "--git-dir", GIT, *args], check=True,
                          capture_output=True).stdout.decode("utf-8")


def show(path):
    return git("show", "HEAD:" + path)


def ls(prefix):
    return [p for p in git("ls-tree", "-r", "--name-only", "HEAD", prefix).splitlines()]


def write(rel, text):
    path = os.path.join(OUT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


# ---------------------------------------------------------------- doc pages
ASIDE_TITLES = {"important": "Wichtig", "note": "Hinweis", "tip": "Tipp", "caution": "Achtung", "danger": "Gefahr"}

TITLE_PREFIX = {
    "reference/configuration/": "Konfiguration: ",
    "smarthome/": "Smart Home: ",
}
TITLE_OVERRIDE = {
    "tariffs/_dynamischer_strompreis.mdx": "Dynamischer Strompreis: eigenes Plugin",
    "tariffs/_pv_vorhersage.mdx": "PV-Vorhersage",
}
OUTNAME = {
    "tariffs/_dynamischer_strompreis.mdx": "tariffs/dynamischer-strompreis-plugin.md",
    "tariffs/_pv_vorhersage.mdx": "tariffs/pv-vorhersage.md",
}


def link_text(m):
    text, url = m.group(1), m.group(2)
    if url.startswith("/") or url.startswith("#") or url.startswith("./") or url.startswith("../"):
        return text
    if url.startswith("https://docs.evcc.io/"):
        return text
    return "[%s](%s)" % (text, url)


def inline(line):
    # images first, then links
    line = re.sub(r"!\[([^\]]*)\]\([^)]*\)", "", line)
    line = re.sub(r"\[([^\]]+)\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", link_text, line)
    line = re.sub(r"\[\]\([^)]*\)", "", line)
    line = re.sub(r"^(#{1,6} .*?)\s*\{#[\w-]+\}\s*$", r"\1", line)
    line = re.sub(r"^(\s*)(\d+)\. (#{2,6}) (.*)$", r"\3 \2. \4", line)
    line = line.replace("&nbsp;", " ")
    line = re.sub(r"<br\s*/?>", " ", line)
    line = re.sub(r"<Badge text=\"([^\"]+)\"[^>]*/>", r"(\1)", line)
    line = re.sub(r"<SinceVersion version=\"([^\"]+)\"\s*/>", r"Ab Version \1", line)
    line = re.sub(r"<SponsorshipRequired\s*/>", "Sponsortoken erforderlich", line)
    return line


def convert_mdx(src):
    # frontmatter
    fm = {}
    if src.startswith("---"):
        end = src.index("\n---", 3)
        fm = yaml.safe_load(src[3:end]) or {}
        src = src[end + 4:]
    # app badges: <a href="X"><img ... alt="Y" /></a> -> list item
    src = re.sub(r"<a href=\"([^\"]+)\">\s*<img[^>]*?alt=\"([^\"]+)\"\s*/>\s*</a>",
                 r"- [\2](\1)", src, flags=re.S)
    # multi-line self-closing components to drop
    src = re.sub(r"<(Screenshot|HeroScreenshots|Video|LatestBlogPost|SponsorToken)\b[^>]*?/>",
                 "", src, flags=re.S)
    src = re.sub(r"<img\b[^>]*?/>", "", src, flags=re.S)
    src = re.sub(r"<CtaButton[^>]*>.*?</CtaButton>", "", src, flags=re.S)
    # NavCard -> list item
    def navcard(m):
        body = m.group(1)
        t = re.search(r"title=\"([^\"]*)\"", body)
        d = re.search(r"description=\"([^\"]*)\"", body)
        return "- **%s**: %s" % (t.group(1) if t else "", d.group(1) if d else "")
    src = re.sub(r"<NavCard\b(.*?)/>", navcard, src, flags=re.S)

    out = []
    in_code = False
    fence = None
    skip_code = False
    aside_stack = []
    dedent = None  # None: not in component; -1: pending; n: strip n spaces
    for raw in src.split("\n"):
        stripped = raw.strip()
        if dedent is not None and stripped:
            if dedent == -1 and not re.match(r"^</?(TabItem|Card)\b", stripped):
                dedent = len(raw) - len(raw.lstrip(" "))
            if dedent > 0:
                lead = len(raw) - len(raw.lstrip(" "))
                raw = raw[min(lead, dedent):]
        m = re.match(r"^(\s*)(`{3,}|~{3,})(.*)$", raw)
        if m:
            if not in_code:
                in_code, fence = True, m.group(2)
                lang = m.group(3).strip().split(" ")[0]
                skip_code = lang == "mermaid"
                if skip_code:
                    continue
                # drop title="..." meta of expressive code
                raw = m.group(1) + m.group(2) + lang
            elif stripped.startswith(fence) and stripped.strip("`~") == "":
                in_code = False
                if skip_code:
                    skip_code = False
                    continue
            if not skip_code:
                out.append(("> " if aside_stack else "") + raw)
            continue
        if in_code:
            if not skip_code:
                out.append(("> " if aside_stack else "") + raw)
            continue
        if re.match(r"^import\s.+from\s", stripped) or re.match(r"^import\s+\"", stripped):
            continue
        if re.match(r"^export const\s", stripped):
            continue
        if re.match(r"^<a id=\"[^\"]*\"\s*>\s*</a>$", stripped):
            continue
        if re.match(r"^</?(Tabs|Steps|NavCardGrid|CardGrid|div)\b[^>]*>$", stripped):
            continue
        if stripped in ("</TabItem>", "</Card>"):
            dedent = None
            continue
        m = re.match(r"^<TabItem\s+label=\"([^\"]+)\"[^>]*>$", stripped)
        if m:
            out.append("")
            out.append("**%s:**" % m.group(1))
            out.append("")
            dedent = -1
            continue
        m = re.match(r"^<Card\s+title=\"([^\"]+)\"[^>]*>$", stripped)
        if m:
            out.append("")
            out.append("**%s**" % m.group(1))
            out.append("")
            dedent = -1
            continue
        m = re.match(r"^:::(note|tip|caution|danger|important)(?:\[(.*)\])?\s*$", stripped)
        if m:
            title = m.group(2) or ASIDE_TITLES[m.group(1)]
            aside_stack.append(1)
            out.append("> **%s**" % title)
            out.append(">")
            continue
        if stripped == ":::" and aside_stack:
            aside_stack.pop()
            out.append("")
            continue
        line = inline(raw)
        # de-indent component content (Card/TabItem content indented by 2-4 spaces)
        if aside_stack:
            line = "> " + line.lstrip() if line.strip() else ">"
        out.append(line)
    return fm, "\n".join(out)


def out_in_list(out):
    # True if the last non-empty line belongs to a list (keeps list continuation indentation)
    for l in reversed(out):
        if not l.strip():
            continue
        return bool(re.match(r"^\s*([-*]|\d+\.)\s", l)) or l.startswith("   ")
    return False


def convert_pages():
    base = "src/content/docs/de/"
    pages = []
    for p in ls(base):
        rel = p[len(base):]
        if rel.startswith("blog/") or not re.search(r"\.mdx?$", rel):
            continue
        fm, body = convert_mdx(show(p))
        title = TITLE_OVERRIDE.get(rel) or str(fm.get("title", rel))
        for pre, prefix in TITLE_PREFIX.items():
            if rel.startswith(pre):
                title = prefix + title
        outrel = OUTNAME.get(rel) or re.sub(r"\.mdx?$", ".md", rel)
        if rel.startswith("reference/configuration/") and rel.endswith("index.md"):
            title = "Konfiguration"
        desc = fm.get("description")
        text = "# %s\n\n" % title
        if desc:
            text += desc.strip() + "\n\n"
        text += body
        write(outrel, text)
        pages.append(outrel)
    return pages


# ---------------------------------------------------------------- intros
INTRO_CODE_VARS = {}


def astro_de(path):
    src = show(path)
    fm_end = src.index("\n---", 3)
    front = src[3:fm_end]
    for m in re.finditer(r"const (\w+) = `(.*?)`;", front, flags=re.S):
        INTRO_CODE_VARS[m.group(1)] = m.group(2)
    body = src[fm_end + 4:]
    i = body.find('{lang === "de" ? (')
    if i < 0:
        intro = re.search(r'intro: "([^"]*)"', front)
        fk = re.search(r"const featureKeys = \[(.*?)\]", front)
        keys = re.findall(r'"([^"]+)"', fk.group(1)) if fk else []
        md = intro.group(1) + "\n\n## Eigenschaften\n\n" if intro else ""
        md += "\n".join("- **%s:** %s" % (FEATURE_LABEL.get(k, k), FEATURE_DESC.get(k, "")) for k in keys)
        return md
    body = body[i + len('{lang === "de" ? ('):]
    j = body.find(") : (")
    body = body[:j]
    body = body.replace("<>", "").replace("</>", "")
    fk = re.search(r"const featureKeys = \[(.*?)\]", front)
    if fk:
        keys = re.findall(r'"([^"]+)"', fk.group(1))
        items = "".join("<li><strong>%s:</strong> %s</li>" % (FEATURE_LABEL.get(k, k), FEATURE_DESC.get(k, "")) for k in keys)
        body = re.sub(r"\{featureKeys\.map\(.*?\)\)\}", items, body, flags=re.S)
    body = re.sub(r"<Aside type=\"(\w+)\"(?: title=\"([^\"]+)\")?>",
                  lambda m: "<blockquote><p><strong>%s</strong></p><p>" % (m.group(2) or ASIDE_TITLES.get(m.group(1), "Hinweis")), body)
    body = body.replace("</Aside>", "</p></blockquote>")
    body = re.sub(r"<p class=\"starlight-aside__title\"[^>]*>(.*?)</p>", r"<p><strong>\1</strong></p>", body, flags=re.S)
    body = re.sub(r"<aside[^>]*>", "<blockquote>", body).replace("</aside>", "</blockquote>")
    body = re.sub(r"<DeviceConfig code=\{(\w+)\}\s*/>",
                  lambda m: "<pre><code>%s</code></pre>" % INTRO_CODE_VARS.get(m.group(1), "").replace("<", "&lt;"), body)
    body = re.sub(r"<Code lang=\"yaml\" code=\{(\w+)\}\s*/>",
                  lambda m: "<pre><code>%s</code></pre>" % INTRO_CODE_VARS.get(m.group(1), "").replace("<", "&lt;"), body)
    body = re.sub(r"<summary>(.*?)</summary>", r"<p><strong>\1</strong></p>", body)
    body = re.sub(r"</?details[^>]*>", "", body)
    body = re.sub(r"<img[^>]*/>", "", body, flags=re.S)
    body = re.sub(r"<span class=\"tag[^\"]*\"><UsageIcons[^>]*/></span>", "", body)
    body = re.sub(r"<[A-Z]\w*[^>]*/>", "", body)
    md = markdownify(body, heading_style="ATX", bullets="-", code_language="yaml")
    # drop internal links
    md = re.sub(r"\[([^\]]+)\]\((/[^)]*)\)", r"\1", md)
    md = md.replace("\u00a0", " ")
    md = re.sub(r'\{"([^"]*)"\}', r"\1", md)
    return md


# ---------------------------------------------------------------- device templates
FEATURE_LABEL = {
    "1p3p": "1P/3P", "mA": "mA-Regelung", "meter": "Integrierter Zähler", "rfid": "RFID",
    "battery-control": "Batteriesteuerung", "iso151182": "ISO 15118-2", "iso15118-2": "ISO 15118-2",
    "dim": "Dimmbar", "curtail": "Abregelbar", "ocpp": "OCPP", "eebus": "EEBus",
}
FEATURE_DESC = {
    "1p3p": "Automatische Phasenumschaltung. Nützlich beim PV-Überschussladen.",
    "mA": "Feinere Ladestromregelung (mA statt A) für bessere PV-Überschussnutzung.",
    "rfid": "Integrierter RFID-Kartenleser zur Fahrzeugerkennung.",
    "meter": "Unterstützung für einen integrierten Zähler.",
    "iso151182": "Plug & Charge (Fahrzeugerkennung, SoC-Übermittlung).",
    "iso15118-2": "Plug & Charge (Fahrzeugerkennung, SoC-Übermittlung).",
    "battery-control": "Externe Steuerung von Hausbatterie-Lade- und Entladevorgängen durch evcc.",
    "dim": "Verbrauchsleistung kann reduziert werden (bspw. § 14a EnWG). Siehe Externe Begrenzung.",
    "curtail": "Wechselrichter-Erzeugung kann reduziert werden (bspw. § 9 EEG). Siehe Externe Begrenzung.",
    "ocpp": "Kommunikation über das offene OCPP-Protokoll.",
}
USAGE_LABEL = {
    "grid": "Netzzähler", "pv": "PV-Produktion", "battery": "Batterie",
    "charge": "Wallbox-Zähler", "aux": "Intelligenter Verbraucher",
}
COUNTRY = {
    "AT": "Österreich", "AU": "Australien", "BE": "Belgien", "CH": "Schweiz", "DE": "Deutschland",
    "DK": "Dänemark", "ES": "Spanien", "EU": "EU", "FI": "Finnland", "FR": "Frankreich",
    "GB": "Vereinigtes Königreich", "IT": "Italien", "LU": "Luxemburg", "NL": "Niederlande",
    "NO": "Norwegen", "PL": "Polen", "PT": "Portugal", "SE": "Schweden",
}
KIND_DIR = {
    "charger": "wallboxen", "heating": "waermeerzeuger", "smartswitch": "steckdosen",
    "meter": "zaehler", "vehicle": "fahrzeuge", "tariff": "tarife", "hems": "externe-begrenzung",
    "messenger": "benachrichtigungen",
}
KIND_NAME = {
    "charger": "Wallboxen", "heating": "Wärmeerzeuger", "smartswitch": "Schaltbare Steckdosen",
    "meter": "PV, Batterie, Netz, Zähler", "vehicle": "Fahrzeuge", "tariff": "Tarife & Vorhersagen",
    "hems": "Externe Begrenzung", "messenger": "Benachrichtigungen",
}


def slug(s):
    s = s.lower()
    for a, b in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss"), ("₂", "2"), ("&", "und")):
        s = s.replace(a, b)
    s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()
    s = re.sub(r"[^a-z0-9]+", "-", s).strip("-")
    return s or "x"


def strip_comments(yml):
    out = []
    for l in yml.rstrip().split("\n"):
        l = re.sub(r"\s+#\s.*$", "", l)
        out.append(l.rstrip())
    return "\n".join(out)


def md_inline(s):
    s = str(s).strip()
    s = re.sub(r"\[([^\]]+)\]\((/[^)]*)\)", r"\1", s)
    return s


def device_section(d, kind, heading):
    L = ["## " + heading, ""]
    if d.get("description"):
        L += [md_inline(d["description"]).replace("\n\n", "\n\n"), ""]
    caps = list(d.get("capabilities") or [])
    reqs = [r for r in (d.get("requirements") or []) if r != "skiptest"]
    described = [c for c in caps if c in FEATURE_DESC]
    other = [c for c in caps if c not in FEATURE_DESC]
    if described:
        L += ["Unterstützte Funktionen:", ""]
        for c in described:
            L.append("- %s: %s" % (FEATURE_LABEL.get(c, c), FEATURE_DESC[c]))
        L.append("")
    if other:
        L += ["Weitere Eigenschaften: " + ", ".join(FEATURE_LABEL.get(c, c) for c in other), ""]
    for r in reqs:
        if r == "sponsorship":
            L += ["Sponsortoken erforderlich: Dieses Gerät steht Unterstützern des Projekts zur Verfügung. Mehr zu unserem Sponsoring-Modell.", ""]
        elif r == "eebus":
            L += ["Voraussetzung: EEBus", ""]
        else:
            L += ["Voraussetzung: " + r, ""]
    if kind == "charger" and "sponsorship" not in reqs:
        L += ["Kein Sponsortoken (sponsorfrei)", ""]
    usages = [r.get("usage") for r in d.get("render") or [] if r.get("usage")]
    if usages:
        L += ["Einsatzbereiche: " + ", ".join(USAGE_LABEL.get(u, u) for u in usages), ""]
    if d.get("countries"):
        L += ["Länder: " + ", ".join(COUNTRY.get(c, c) for c in d["countries"]), ""]
    if d.get("caveats"):
        L += ["Bekannte Einschränkungen:", ""]
        for c in d["caveats"]:
            t = md_inline(c.get("description", "")).replace("\n", " ")
            if c.get("link"):
                t += " Mehr Details: " + c["link"]
            L.append("- " + t)
        L.append("")
    params = [p for p in d.get("params") or [] if p.get("name")]
    mb = d.get("modbus")
    mbparam = next((p for p in params if p["name"] == "modbus"), None)
    if mbparam is not None and mb:
        kinds = []
        for c in mbparam.get("choice") or []:
            kinds.append({"rs485": "Modbus RS485 (seriell über USB-RS485 Adapter oder über Netzwerk)",
                          "tcpip": "Modbus TCP/IP (Netzwerk)"}.get(c, "Modbus " + str(c)))
        L.append("Modbus-Anbindung: " + "; ".join(kinds) + ".")
        defs = []
        if mb.get("id") is not None:
            defs.append("Modbus ID %s" % mb["id"])
        if mb.get("port"):
            defs.append("Port %s" % mb["port"])
        if "rs485" in (mbparam.get("choice") or []):
            if mb.get("baudrate"):
                defs.append("Baudrate %s" % mb["baudrate"])
            if mb.get("comset"):
                defs.append("ComSet %s" % mb["comset"])
        if defs:
            L.append("Standardwerte: " + ", ".join(defs) + ".")
        L.append("")
    rows = []
    for p in params:
        if p["name"] == "modbus":
            continue
        level = "erforderlich" if not p.get("optional") else ("erweitert" if p.get("advanced") else "optional")
        desc = md_inline(p.get("description") or p["name"])
        unit = p.get("unit")
        head = "%s (%s%s, %s)" % (desc, p["name"], ", " + unit if unit else "", level)
        bits = []
        if p.get("help"):
            h = md_inline(p["help"]).replace("\n", " ").strip()
            if not h.endswith((".", "!", "?")):
                h += "."
            bits.append(h)
        if p.get("choice"):
            bits.append("Optionen: " + ", ".join(str(c) for c in p["choice"]))
        if p.get("default") not in (None, ""):
            bits.append("Standard: %s" % p["default"])
        if p.get("example") not in (None, ""):
            bits.append("Beispiel: %s" % p["example"])
        line = "- " + head
        if bits:
            line += ": " + " ".join(b if b.endswith((".", "!", "?")) else b + "." for b in bits)
        rows.append(line)
    if rows:
        L += ["Parameter:", ""] + rows + [""]
    renders = d.get("render") or []
    if renders:
        L += ["Konfigurationsbeispiel für evcc.yaml:", ""]
        for r in renders:
            code = strip_comments(r.get("default", ""))
            L += ["```yaml", code, "```", ""]
    return L


def device_kind(folder, d):
    g = (d.get("product") or {}).get("group") or ""
    if folder == "charger":
        if g == "Wärmeerzeuger":
            return "heating"
        if g == "Schaltbare Steckdosen":
            return "smartswitch"
        return "charger"
    return folder


def convert_devices():
    base = "templates/release/de/"
    groups = defaultdict(list)
    for p in ls(base):
        if not p.endswith(".yaml"):
            continue
        folder = p[len(base):].split("/")[0]
        if folder not in ("charger", "meter", "vehicle", "tariff", "hems", "messenger"):
            continue
        d = yaml.safe_load(show(p))
        kind = device_kind(folder, d)
        prod = d.get("product") or {}
        brand = str(prod.get("brand") or "").strip()
        if kind == "tariff":
            key = prod.get("group") or "Sonstige"
        elif kind in ("hems", "messenger"):
            key = KIND_NAME[kind]
        elif not brand:
            key = "Generische Unterstützung"
        else:
            key = brand
        groups[(kind, key)].append(d)
    written = []
    for (kind, key), devs in sorted(groups.items(), key=lambda x: (x[0][0], x[0][1].lower())):
        def name(d):
            prod = d.get("product") or {}
            b = str(prod.get("brand") or "").strip()
            desc = str(prod.get("description") or "").strip()
            return (b + " " + desc).strip() if b else (desc or prod.get("identifier"))
        devs.sort(key=lambda d: name(d).lower())
        if kind == "tariff":
            title = "Tarife & Vorhersagen: %s" % key
        elif kind in ("hems", "messenger"):
            title = KIND_NAME[kind] + ": unterstützte Dienste und Geräte"
        elif key == "Generische Unterstützung":
            title = "%s: Generische Unterstützung" % KIND_NAME[kind]
        else:
            title = "%s: %s" % (key, KIND_NAME[kind])
        L = ["# " + title, ""]
        seen = defaultdict(int)
        for d in devs:
            h = name(d)
            seen[h] += 1
            if seen[h] > 1:
                h = "%s (%s)" % (h, d["product"].get("identifier"))
            L += device_section(d, kind, h)
        fname = "index-dienste.md" if kind in ("hems", "messenger") else slug(key) + ".md"
        rel = "geraete/%s/%s" % (KIND_DIR[kind], fname)
        write(rel, "\n".join(L))
        written.append((rel, len(devs)))
    return written


INTROS = {
    "charger": (["ChargersIntro"], "Wallboxen"),
    "meter": (["MetersIntro"], "PV, Batterie, Netz, Zähler"),
    "heating": (["HeatingIntro", "HeatingOutro"], "Wärmeerzeuger"),
    "smartswitch": (["SmartswitchesIntro"], "Schaltbare Steckdosen"),
    "vehicle": (["VehiclesIntro"], "Fahrzeuge"),
    "tariff": (["TariffsIntro"], "Tarife & Vorhersagen"),
    "hems": (["ExternalLimitIntro", "ExternalLimitOutro"], "Externe Begrenzung"),
    "messenger": (["NotificationsIntro", "NotificationsOutro"], "Benachrichtigungen"),
}


def convert_intros():
    for kind, (files, title) in INTROS.items():
        parts = [astro_de("src/components/intros/%s.astro" % f) for f in files]
        write("geraete/%s/index.md" % KIND_DIR[kind], "# %s\n\n%s" % (title, "\n\n".join(parts)))


if __name__ == "__main__":
    pages = convert_pages()
    convert_intros()
    devs = convert_devices()
    print(len(pages), "pages;", len(devs), "device pages;", sum(n for _, n in devs), "templates")
