"""Render the German translation of a Sphinx/RST manual as Markdown.

The RST sources are parsed with Sphinx (to get the document tree and the very
message ids the gettext builder extracts); every translatable node (title,
paragraph, list item text, table cell, term ...) is replaced by its German
msgstr from the .po catalogue (polib).  Untranslated / fuzzy / missing
messages are skipped.  Images, figures, toctrees, raw HTML and other
directives without text are dropped.
"""
import os
import re
import sys

import polib
from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.util.nodes import extract_messages

SRC, PO, OUT, PREFIX = sys.argv[1:5]
EXTRA_EXT = sys.argv[5].split(",") if len(sys.argv) > 5 and sys.argv[5] else []

po = polib.pofile(PO)
CAT = {}
for e in po:
    if e.obsolete or e.fuzzy or not e.msgstr.strip():
        continue
    CAT[e.msgid] = e.msgstr

confdir = os.path.join("/tmp/zw/conf", PREFIX)
os.makedirs(confdir, exist_ok=True)
with open(os.path.join(confdir, "conf.py"), "w") as f:
    f.write(
        "extensions=%r\n"
        "master_doc='index'\n"
        "exclude_patterns=['_build','html','doctrees','locale']\n"
        "extlinks={'admin-docs':('https://admin-docs.zammad.org/en/latest%%s',''),"
        "'docs':('https://docs.zammad.org/en/latest%%s',''),"
        "'user-docs':('https://user-docs.zammad.org/en/latest%%s','')}\n"
        "language='en'\n" % (["sphinx_tabs.tabs", "sphinx.ext.extlinks"] + EXTRA_EXT)
    )

build = os.path.join("/tmp/zw/build", PREFIX)
app = Sphinx(SRC, confdir, build + "/out", build + "/doctrees", "dummy",
             status=None, warning=open(build + ".warnings", "w"), freshenv=True)
app.build()
env = app.env


def tr(msg):
    return CAT.get(msg)


# ---------------------------------------------------------------- toctree
reachable = set()
stack = ["index"]
while stack:
    d = stack.pop()
    if d in reachable:
        continue
    reachable.add(d)
    stack.extend(env.toctree_includes.get(d, []))

labels = env.domaindata["std"]["labels"]


def doc_title_de(docname):
    t = env.titles.get(docname)
    if t is None:
        return None
    en = t.astext()
    return tr(en) or None


def resolve_doc(target, current):
    target = target.strip()
    if target.endswith(".rst"):
        target = target[:-4]
    if target.startswith("/"):
        return target[1:]
    base = os.path.dirname(current)
    return os.path.normpath(os.path.join(base, target)).replace(os.sep, "/")


ROLE_RE = re.compile(r":([a-z-]+):`((?:[^`\\]|\\.)*)`")
TITLE_TARGET = re.compile(r"^(.*?)\s*<([^<>]+)>$", re.S)


def inline(text, current, subst):
    """Convert the inline RST markup of a msgstr to plain Markdown text."""

    def role(m):
        name, body = m.group(1), m.group(2)
        mt = TITLE_TARGET.match(body)
        title, target = (mt.group(1), mt.group(2)) if mt else (None, body)
        if name in ("kbd", "code", "file", "command", "samp"):
            return "`" + body + "`"
        if name == "doc":
            if title:
                return title
            t = doc_title_de(resolve_doc(target, current))
            return t or target
        if name == "ref":
            if title:
                return title
            lab = labels.get(target.strip().lower())
            if lab:
                return tr(lab[2]) or lab[2]
            return target
        if title:
            return title
        return target

    # protect ``literal`` spans (backslashes are literal inside them)
    lits = []

    def keep(m):
        lits.append("`" + m.group(1) + "`")
        return "\x00%d\x00" % (len(lits) - 1)

    text = re.sub(r"``(.+?)``", keep, text, flags=re.S)
    # literal-like roles are protected as well
    def keep_role(m):
        if m.group(1) in ("kbd", "code", "file", "command", "samp"):
            lits.append("`" + m.group(2) + "`")
            return "\x00%d\x00" % (len(lits) - 1)
        return m.group(0)

    text = ROLE_RE.sub(keep_role, text)
    text = ROLE_RE.sub(role, text)
    # `text <url>`_ / `text <url>`__ / `text`_
    text = re.sub(r"(?<!`)`([^`]+?)\s*<[^<>`]+>`__?", lambda m: m.group(1), text)
    text = re.sub(r"(?<!`)`([^`<>]+?)`__?", lambda m: m.group(1), text)
    # broken links (translator dropped the opening backtick)
    text = re.sub(r"\s*<https?://[^<>\s]+>`__?", "", text)
    # |substitution|
    def sub(m):
        n = m.group(1)
        if n in subst:
            return subst[n]
        return ""
    text = re.sub(r"\|([\wäöüÄÖÜß](?:[\wäöüÄÖÜß -]*[\wäöüÄÖÜß])?)\|(?:__?)?", sub, text)
    # plain hyperlink references word_
    text = re.sub(r"\b([A-Za-z0-9-]+)_\b(?!\w)", r"\1", text)
    # escapes
    text = text.replace("\\ ", "")
    text = re.sub(r"\\(.)", r"\1", text)
    def restore(m):
        idx = [int(i) for i in re.findall(r"\x00(\d+)\x00", m.group(0))]
        return "`" + "".join(lits[i][1:-1] for i in idx) + "`"

    text = re.sub(r"(?:\x00\d+\x00)+", restore, text)
    text = re.sub(r"[ \t]*\n[ \t]*", " ", text)
    text = re.sub(r"  +", " ", text)
    return text.strip()


def bold(t):
    t = t.strip()
    if t.startswith("**") and t.endswith("**"):
        return t
    return "**" + t + "**"


SKIP = (nodes.image, nodes.figure, nodes.comment, nodes.target, nodes.raw,
        nodes.substitution_definition, nodes.system_message, addnodes.toctree,
        addnodes.index, nodes.transition, nodes.caption, nodes.legend)
ADMON = (nodes.Admonition,)


class Page:
    def __init__(self, docname, doctree):
        self.docname = docname
        self.msgs = {}
        for node, msg in extract_messages(doctree):
            self.msgs.setdefault(id(node), msg)
        self.total = 0
        self.done = 0
        self.subst = {}
        for sd in doctree.findall(nodes.substitution_definition):
            name = sd["names"][0] if sd["names"] else None
            if not name:
                continue
            if any(isinstance(c, (nodes.image, nodes.raw)) for c in sd.children):
                raw = sd.astext().strip()
                self.subst[name] = " " if raw == "<br />" else ""
            else:
                self.subst[name] = tr(sd.astext()) or sd.astext()
        self.doctree = doctree

    def text(self, node):
        msg = self.msgs.get(id(node))
        if msg is None:
            return None
        self.total += 1
        de = tr(msg)
        if de is None:
            return None
        self.done += 1
        return inline(de, self.docname, self.subst)

    # ---------------------------------------------------------- blocks
    def blocks(self, node, depth):
        """Return list of Markdown blocks for the children of node."""
        out = []
        for child in node.children:
            out.extend(self.block(child, depth))
        return out

    def block(self, node, depth):
        if isinstance(node, SKIP):
            return []
        if type(node).__name__ in ("mermaid", "only", "tabular_col_spec"):
            return []
        if isinstance(node, nodes.section):
            out = []
            title = None
            for c in node.children:
                if isinstance(c, nodes.title):
                    title = self.text(c)
            if title:
                out.append("#" * min(depth + 1, 6) + " " + title)
            for c in node.children:
                if isinstance(c, nodes.title):
                    continue
                out.extend(self.block(c, depth + 1))
            return out
        if isinstance(node, (nodes.paragraph, nodes.rubric, nodes.line)) or id(node) in self.msgs and not isinstance(node, nodes.literal_block):
            t = self.text(node)
            if not t:
                return []
            if isinstance(node, nodes.paragraph):
                if t == "::":
                    return []
                if t.endswith(" ::"):
                    t = t[:-3]
                elif t.endswith("::"):
                    t = t[:-1]
            if isinstance(node, (nodes.rubric, nodes.title)):
                return [bold(t)]
            return [t]
        if isinstance(node, nodes.literal_block):
            msg = self.msgs.get(id(node))
            code = node.astext()
            if msg is not None:
                de = CAT.get(msg)
                if de:
                    code = de
            return ["```\n" + code.rstrip("\n") + "\n```"]
        if isinstance(node, (nodes.bullet_list, nodes.enumerated_list)):
            return [self.listing(node, 0)] if self.listing(node, 0) else []
        if isinstance(node, ADMON):
            inner = self.blocks(node, depth)
            if not inner:
                return []
            body = "\n>\n".join("\n".join("> " + ln if ln else ">" for ln in b.split("\n")) for b in inner)
            return [body]
        if isinstance(node, nodes.table):
            t = self.table(node)
            return [t] if t else []
        if isinstance(node, nodes.definition_list):
            out = []
            for item in node.children:
                term = None
                defs = []
                for c in item.children:
                    if isinstance(c, nodes.term):
                        term = self.text(c)
                    elif isinstance(c, nodes.definition):
                        defs = self.blocks(c, depth)
                if term:
                    out.append(bold(term))
                out.extend(defs)
            return out
        if isinstance(node, nodes.field_list):
            out = []
            for field in node.children:
                name = self.text(field.children[0]) or ""
                body = self.blocks(field.children[1], depth)
                if body:
                    if name:
                        out.append(bold(name))
                    out.extend(body)
            return out
        if isinstance(node, nodes.line_block):
            lines = [b for c in node.children for b in self.block(c, depth)]
            return ["  \n".join(lines)] if lines else []
        if isinstance(node, nodes.container) and "cfloat-clear" in node.get("classes", []):
            return []
        # containers, block quotes, compounds, tabs, topics, ... -> recurse
        return self.blocks(node, depth)

    def listing(self, node, level):
        lines = []
        ordered = isinstance(node, nodes.enumerated_list)
        n = 0
        for item in node.children:
            parts = []
            sub = []
            for c in item.children:
                if isinstance(c, (nodes.bullet_list, nodes.enumerated_list)):
                    s = self.listing(c, level + 1)
                    if s:
                        sub.append(s)
                else:
                    for b in self.block(c, 0):
                        parts.append(b)
            if not parts and not sub:
                continue
            n += 1
            marker = ("%d. " % n) if ordered else "- "
            ind = "  " * level
            pad = " " * len(marker)
            first = True
            text_lines = []
            for p in parts:
                for ln in p.split("\n"):
                    if first:
                        text_lines.append(ind + marker + ln)
                        first = False
                    else:
                        text_lines.append(ind + pad + ln if ln else "")
            if first:
                text_lines.append(ind + marker.rstrip())
            lines.append("\n".join(text_lines))
            lines.extend(sub)
        return "\n".join(lines)

    def cell(self, entry):
        bs = self.blocks(entry, 0)
        flat = []
        for b in bs:
            for ln in b.split("\n"):
                ln = ln.strip()
                if ln.startswith("```"):
                    continue
                if ln:
                    flat.append(ln)
        return " ".join(flat).replace("|", "\\|")

    def table(self, node):
        rows = []
        head_n = 0
        for tgroup in node.findall(nodes.tgroup):
            for part in tgroup.children:
                if isinstance(part, (nodes.thead, nodes.tbody)):
                    for row in part.children:
                        rows.append([self.cell(e) for e in row.children])
                        if isinstance(part, nodes.thead):
                            head_n += 1
            break
        rows = [r for r in rows if any(c for c in r)]
        if not rows:
            return None
        width = max(len(r) for r in rows)
        rows = [r + [""] * (width - len(r)) for r in rows]
        out = []
        title = None
        for c in node.children:
            if isinstance(c, nodes.title):
                title = self.text(c)
        if head_n:
            header, body = rows[0], rows[1:]
        else:
            header, body = [""] * width, rows
        out.append("| " + " | ".join(header) + " |")
        out.append("|" + "---|" * width)
        for r in body:
            out.append("| " + " | ".join(r) + " |")
        t = "\n".join(out)
        if title:
            t = "**" + title + "**\n\n" + t
        return t


stats = []
written = 0
for docname in sorted(reachable):
    doctree = env.get_doctree(docname)
    page = Page(docname, doctree)
    blocks = page.blocks(doctree, 0)
    first_title = next((b for b in blocks if b.startswith("# ")), None)
    ratio = page.done / page.total if page.total else 0
    stats.append((docname, page.total, page.done))
    if docname == "index" or not first_title or ratio < 0.6:
        print("SKIP", docname, page.total, page.done, file=sys.stderr)
        continue
    body = "\n\n".join(b for b in blocks if b.strip()) + "\n"
    # ensure page starts with its title
    i = body.find(first_title)
    body = body[i:]
    if len(body) < 200:
        print("SKIP(short)", docname, len(body), file=sys.stderr)
        continue
    path = os.path.join(OUT, PREFIX, docname + ".md")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(body)
    written += 1

print("pages written", written, "of", len(reachable), file=sys.stderr)
tot = sum(s[1] for s in stats)
done = sum(s[2] for s in stats)
print("messages", tot, "translated", done, file=sys.stderr)
