#!/usr/bin/env python3
"""Convert German (itstool-merged) Mallard pages to Markdown.

Usage: mal2md.py INDIR OUTDIR [page ids...]
Blocks that contain the marker @@UNTR@@ (strings without German translation) are dropped.
"""
import os
import re
import sys
import xml.etree.ElementTree as ET

M = '{http://projectmallard.org/1.0/}'
IF = '{http://projectmallard.org/if/1.0/}'
MARK = '@@UNTR@@'

# conditions: GNOME desktop session (not Classic, not Ubuntu), desktop target, no install action
TRUE_TOKENS = {'platform:gnome', 'target:desktop', 'target:html'}


def cond_true(test):
    if test is None:
        return True
    for alt in test.split(','):  # comma = or
        ok = True
        for tok in alt.split():  # space = and
            neg = tok.startswith('!')
            t = tok.lstrip('!')
            val = t in TRUE_TOKENS
            if neg:
                val = not val
            if not val:
                ok = False
        if ok:
            return True
    return False


def local(tag):
    if not isinstance(tag, str):
        return None
    return tag.split('}')[-1] if '}' in tag else tag


def ns(tag):
    if not isinstance(tag, str) or '}' not in tag:
        return ''
    return tag[1:].split('}')[0]


TITLES = {}  # page id -> title ; page#section -> title


def load_titles(indir):
    for fn in os.listdir(indir):
        if not fn.endswith('.page'):
            continue
        try:
            root = ET.parse(os.path.join(indir, fn)).getroot()
        except ET.ParseError:
            continue
        pid = root.get('id')
        t = root.find(M + 'title')
        if t is not None:
            TITLES[pid] = norm(inline(t))
        for sec in root.iter(M + 'section'):
            st = sec.find(M + 'title')
            if sec.get('id') and st is not None:
                TITLES[pid + '#' + sec.get('id')] = norm(inline(st))


def norm(s):
    return re.sub(r'\s+', ' ', s).strip()


def inline(el):
    """Render inline content of el as plain text."""
    out = [el.text or '']
    for ch in el:
        out.append(inline_el(ch))
        out.append(ch.tail or '')
    return ''.join(out)


def inline_el(ch):
    tag = local(ch.tag)
    if ns(ch.tag) == IF[1:-1]:
        if tag == 'if' and not cond_true(ch.get('test')):
            return ''
        if tag == 'choose':
            return inline(pick_choose(ch))
        return inline(ch)
    if tag in ('media',):
        return ''
    if tag in ('comment',):
        return ''
    if tag == 'guiseq':
        parts = [norm(inline(g)) for g in ch if local(g.tag) == 'gui']
        if parts:
            return ' ▸ '.join(parts)
        return inline(ch)
    if tag == 'keyseq':
        parts = [norm(inline(k)) for k in ch if local(k.tag) in ('key', 'keyseq', 'gui', 'span')]
        sep = '+' if ch.get('type') != 'sequence' else ' '
        if parts:
            return sep.join(parts)
        return inline(ch)
    if tag == 'link':
        txt = norm(inline(ch))
        if txt:
            return txt
        xref = ch.get('xref')
        if xref:
            return TITLES.get(xref, TITLES.get(xref.split('#')[0], ''))
        return ch.get('href') or ''
    return inline(ch)


class Sink:
    def __init__(self):
        self.lines = []
        self.dropped = 0
        self.kept = 0


BLOCK_SKIP = {'info', 'links', 'comment', 'media', 'thumb', 'tt', 'rules', 'title', 'desc',
              'subtitle', 'keywords', 'credit', 'revision'}


def pick_choose(ch):
    """Return an element whose children are the chosen branch."""
    holder = ET.Element('holder')
    for w in ch:
        if local(w.tag) == 'when' and ns(w.tag) == IF[1:-1]:
            if cond_true(w.get('test')):
                return w
    for w in ch:
        if local(w.tag) == 'else':
            return w
    # non-when children act as default content
    for w in ch:
        if local(w.tag) not in ('when', 'else'):
            holder.append(w)
    return holder


def para_text(el):
    t = norm(inline(el))
    t = re.sub(r' ?\(\s*\)', '', t)
    t = re.sub(r'\s+([.,;:])', r'\1', t) if False else t
    return t


def render_blocks(el, depth, indent=''):
    """Return list of markdown blocks (strings) for block children of el."""
    blocks = []
    for ch in el:
        tag = local(ch.tag)
        if tag is None:
            continue
        if ns(ch.tag) == IF[1:-1]:
            if tag == 'if':
                if cond_true(ch.get('test')):
                    blocks += render_blocks(ch, depth, indent)
            elif tag == 'choose':
                blocks += render_blocks(pick_choose(ch), depth, indent)
            continue
        if tag in BLOCK_SKIP and tag != 'title':
            continue
        if tag == 'title':
            continue
        if tag == 'p':
            t = para_text(ch)
            if t:
                blocks.append(t)
        elif tag in ('list', 'steps', 'terms'):
            t = ch.find(M + 'title')
            if t is not None and para_text(t):
                blocks.append(para_text(t) + ':')
            n = 0
            items = []
            for it in iter_items(ch):
                n += 1
                marker = f'{n}. ' if tag == 'steps' else '- '
                sub_indent = ' ' * len(marker)
                sub = []
                if tag == 'terms':
                    titles = [para_text(x) for x in it if local(x.tag) == 'title']
                    body = render_blocks(it, depth, '')
                    sub = ([' / '.join(titles)] if titles else []) + body
                else:
                    sub = render_blocks(it, depth, '')
                    if not sub and (it.text or '').strip():
                        sub = [norm(inline(it))]
                if not sub:
                    continue
                txt = '\n\n'.join(sub)
                lines = txt.split('\n')
                out = marker + lines[0]
                for ln in lines[1:]:
                    out += '\n' + (sub_indent + ln if ln else '')
                items.append(out)
            if items:
                sep = '\n\n' if any('\n' in i for i in items) else '\n'
                blocks.append(sep.join(items))
        elif tag == 'note':
            inner = render_blocks(ch, depth, '')
            t = ch.find(M + 'title')
            if t is not None and para_text(t):
                inner = [para_text(t) + ':'] + inner
            if inner:
                txt = '\n\n'.join(inner)
                blocks.append('\n'.join(('> ' + ln) if ln else '>' for ln in txt.split('\n')))
        elif tag in ('code', 'screen'):
            code = ''.join(ch.itertext()).strip('\n')
            if code.strip():
                blocks.append('```\n' + code + '\n```')
        elif tag == 'table':
            blocks += render_table(ch)
        elif tag == 'section':
            st = ch.find(M + 'title')
            body = render_blocks(ch, depth + 1, indent)
            head = ('#' * min(depth + 1, 6)) + ' ' + (para_text(st) if st is not None else '')
            body = [b for b in body if MARK not in b]
            if body:
                blocks.append(head)
                blocks += body
        elif tag in ('example', 'figure', 'quote', 'listing', 'synopsis', 'div', 'expander', 'item',
                     'holder', 'when', 'else'):
            t = ch.find(M + 'title')
            if t is not None and tag in ('figure', 'listing', 'example') and para_text(t):
                blocks.append(para_text(t) + ':')
            blocks += render_blocks(ch, depth, indent)
        else:
            # unknown: treat as paragraph if it has text
            t = para_text(ch)
            if t:
                blocks.append(t)
    return blocks


def iter_items(lst):
    for it in lst:
        tag = local(it.tag)
        if tag == 'item':
            yield it
        elif ns(it.tag) == IF[1:-1]:
            if tag == 'if' and cond_true(it.get('test')):
                yield from iter_items(it)
            elif tag == 'choose':
                yield from iter_items(pick_choose(it))


def render_table(tbl):
    rows = []
    for tr in tbl.iter(M + 'tr'):
        cells = []
        for td in tr:
            if local(td.tag) not in ('td', 'th'):
                continue
            parts = render_blocks(td, 9)
            if not parts:
                parts = [para_text(td)]
            cells.append(' '.join(p.replace('\n', ' ') for p in parts).replace('|', '\\|'))
        if cells:
            rows.append(cells)
    if not rows:
        return []
    w = max(len(r) for r in rows)
    rows = [r + [''] * (w - len(r)) for r in rows]
    t = tbl.find(M + 'title')
    has_thead = tbl.find(M + 'thead') is not None
    if not has_thead and t is not None and para_text(t):
        head = [para_text(t).replace('|', '\\|')] + [''] * (w - 1)
        body = rows
    else:
        head = rows[0]
        body = rows[1:]
    out = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * w]
    for r in body:
        out.append('| ' + ' | '.join(r) + ' |')
    return ['\n'.join(out)]


def convert(path):
    root = ET.parse(path).getroot()
    title = para_text(root.find(M + 'title'))
    info = root.find(M + 'info')
    desc = ''
    if info is not None and info.find(M + 'desc') is not None:
        desc = para_text(info.find(M + 'desc'))
    blocks = render_blocks(root, 1)
    total = len(blocks)
    kept = [b for b in blocks if MARK not in b]
    dropped = total - len(kept)
    # drop headings left without content
    clean = []
    for i, b in enumerate(kept):
        if b.startswith('#'):
            lvl = len(b) - len(b.lstrip('#'))
            nxt = kept[i + 1] if i + 1 < len(kept) else None
            if nxt is None or (nxt.startswith('#') and len(nxt) - len(nxt.lstrip('#')) <= lvl):
                continue
        clean.append(b)
    md = '# ' + title + '\n\n'
    if desc and MARK not in desc:
        md += desc + '\n\n'
    md += '\n\n'.join(clean) + '\n'
    return md, title, total, dropped


def main():
    indir, outdir = sys.argv[1], sys.argv[2]
    ids = sys.argv[3:]
    load_titles(indir)
    os.makedirs(outdir, exist_ok=True)
    for pid in ids:
        md, title, total, dropped = convert(os.path.join(indir, pid + '.page'))
        if MARK in title or (total and dropped / total > 0.2):
            print('SKIP', pid, total, dropped, file=sys.stderr)
            continue
        if dropped:
            print('PARTIAL', pid, total, dropped, file=sys.stderr)
        with open(os.path.join(outdir, pid + '.md'), 'w', encoding='utf-8') as f:
            f.write(md)


if __name__ == '__main__':
    main()
