"""The adviser's side of the conversation: read what the customer wants (a need, a
comparison, a size, one fact), ask one question at a time while too many products fit,
recommend with reasons, and keep the thread for the next turn.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from bot.answer.advice.needs import (
    NO_PREFERENCE,
    SIZE_NAME,
    Needs,
    Thread,
    find_categories,
    read_needs,
    word_stem,
)
from bot.answer.advice.ranking import (
    choose_question,
    facet_values,
    fact_of,
    fitting_sizes,
    misses,
    rank,
    reason_facts,
    sizes_with,
    soft_score,
    use_match,
)
from bot.answer.advice.texts import (
    LABELS_EN,
    MEASURE_LABELS,
    TEXTS,
    citation,
    fact_label,
    fact_text,
    facts_text,
    needs_text,
    num,
    number_text,
    range_text,
)
from bot.answer.followup import Turn
from kb.catalog import FACETS, Fact, Product
from kb.text import fold, mentioned_products, named_products, words
from kb.types import Citation
from kb.vocabulary import EMPTY, Vocabulary

MAX_QUESTIONS = 3
MAX_PICKS = 3

_ADVICE_CUE = re.compile(
    r"\b(ich suche|suche (?:ein|eine|einen|nach)|such(?:e)? (?:was|etwas)|ich brauche|brauche "
    r"(?:ein|eine|einen|neue|neuen|was|etwas)|benötige|empfehlt|empfiehlst|empfehlen sie|"
    r"empfehlung|könnt ihr .* empfehlen|was passt|was würdest du|was würdet ihr|welche[rsnm]? "
    r"\w+ (?:für|soll|sollte|nehm|kauf|eignet|passt|ist gut|ist am besten|würdet|empfehl)|"
    r"welche[rsnm]? \w+ (?:bei|unter|bis) |hättet ihr|habt ihr (?:ein|eine|einen|was) \w+ für|"
    r"gibt es (?:ein|eine|einen) \w+ für|was für (?:ein|eine|einen) \w+|berat\w*|"
    r"i'?m looking for|i am looking for|looking for|recommend|suggest|which \w+ (?:for|should|"
    r"would|is best|is good|fits|do you)|what \w+ (?:should|would) i|i need (?:a|an|some|new)|"
    r"i want (?:a|an|to buy)|best \w+ for|do you have (?:a|an|any) \w+ for)",
    re.IGNORECASE)
# Weaker signs of a pre-sales message: they count when the message names a category
# ("Habt ihr auch Stirnlampen?", "Suche Wanderschuhe", "Regenjacke gesucht").
_WEAK_CUE = re.compile(r"(?:^\W*(?:hallo|hi|hey|moin|servus)?\W*(?:such\w*|brauch\w*|need|want|"
                       r"looking|habt ihr|hättet ihr|gibt'?s|gibt es|have you got|do you have|"
                       r"do you sell|verkauft ihr|any|cheap|günstig\w*)\b|"
                       r"gesucht|\bsuche?\b|\bbrauch\w*\b|\bfor sale\b)", re.IGNORECASE)
# A wish anywhere in a message, for ``Adviser.rescue``.
_WISH = re.compile(r"\b(need|want|looking|please|recommend|suggest|which|what kind|brauch\w*|"
                   r"such\w*|gesucht|bitte|empfehl\w*|welche[rsnm]?|hätte gern|möchte)\b",
                   re.IGNORECASE)
# "Do I need a hammer drill for concrete?" asks what is true, not what to buy.
_KNOWLEDGE_QUESTION = re.compile(r"\W*(?:do|does|did|is|are|can|could|will|brauche ich|"
                                 r"braucht man|muss ich|ist|sind|kann|können|hat|haben)\b", re.I)
_COMPARE_CUE = re.compile(r"\b(unterschied\w*|vergleich\w*|vs\.?|versus|oder|difference|"
                          r"differ|compare\w*|or|besser|better|gegenüber)\b", re.IGNORECASE)
_SIZE_CUE = re.compile(r"\b(größe|groesse|grösse|size|passt|fit|fits|nehm\w*|brauch\w*|take|"
                       r"need|m oder l|s oder m|l oder xl)\b", re.IGNORECASE)

# English questions about one fact of one product: the facet they ask for.
# Each pattern must be the whole question's point: "How heavy is the AlpinPro 50?", not
# "Does the AlpinPro 35 take a 3 litre bladder?" (which the documents answer in prose).
_ENGLISH_ATTRIBUTES = [
    ("weight", re.compile(r"^(?:how heavy is|how much does|what does|what is the weight of|"
                          r"what'?s the weight of)\b.*?(?:\bweigh\b|$)", re.I)),
    ("price", re.compile(r"^(?:how much (?:is|does|do|are)|what does|what is the price of|"
                         r"what'?s the price of)\b.*?(?:\bcost\b|$)", re.I)),
    ("volume", re.compile(r"^(?:how many (?:litres|liters) does|what is the (?:volume|capacity) "
                          r"of|how big is)\b", re.I)),
    ("persons", re.compile(r"^(?:how many (?:people|persons) (?:does|can|fit))\b", re.I)),
    ("comfort_temperature", re.compile(r"\b(?:comfort temperature|temperature rating)\b", re.I)),
    ("limit_temperature", re.compile(r"\b(?:limit temperature|lower limit)\b", re.I)),
    ("brightness", re.compile(r"^how (?:bright|many lumens)\b", re.I)),
    ("sizes", re.compile(r"^(?:what|which) sizes? (?:does|do|is|are)\b.*\b(?:come|available)",
                         re.I)),
]
# Questions about one fact of a whole category ("Wie schwer sind eure Zelte?").
_ASKED_FACETS = [
    ("weight", r"wie schwer|wiegt|wiegen|gewicht|how heavy|weigh|weight"),
    ("price", r"was kostet|was kosten|wie teuer|preis|how much (?:is|are|does|do)|cost|price"),
    ("brightness", r"wie hell|helligkeit|lumen|how bright|brightness"),
    ("comfort_temperature", r"wie warm|komforttemperatur|how warm|comfort temperature"),
    ("volume", r"volumen|wie viele liter|fassungsvermögen|how many lit(?:re|er)s|capacity"),
    ("waterproof", r"wie wasserdicht|wassersäule|how waterproof|hydrostatic head"),
    ("persons", r"wie viele personen|how many (?:people|persons)"),
]


def _asked_facet(text: str) -> str | None:
    return next((facet for facet, pattern in _ASKED_FACETS
                 if re.search(rf"\b(?:{pattern})\b", text, re.IGNORECASE)), None)


_FACET_ORDER = ("price", "weight", "volume", "persons", "seasons", "comfort_temperature",
                "limit_temperature", "waterproof", "waterproof_flag", "brightness", "range",
                "length", "use", "features")


@dataclass(frozen=True)
class Pick:
    """A recommended (or compared) product with the facts that are its reasons."""

    product: Product
    facts: tuple[Fact, ...]
    reason: str
    n: int = 1

    def to_dict(self, language: str) -> dict:
        return {"name": self.product.name, "source": self.product.source,
                "category": self.product.category,
                "facts": {fact_label(f, language): fact_text(f, language) for f in self.facts},
                "reason": self.reason, "citation": self.n}


@dataclass(frozen=True)
class Advice:
    """What the adviser says: text with [n] markers, the cited products, quick replies, and
    the thread to continue with. ``kind`` is "ask", "recommend", "nothing_fits",
    "compare", "size" or "fact"."""

    kind: str
    text: str
    picks: tuple[Pick, ...]
    citations: tuple[Citation, ...]
    options: tuple[str, ...] = ()
    thread: Thread | None = None

    @property
    def state(self) -> dict:
        return {**(self.thread.to_dict() if self.thread else {}), "kind": self.kind}



def _names_a_size(product: Product, text: str) -> bool:
    """Whether ``text`` names one of the product's sizes ("XS oder S?", "regular or long?");
    short size codes count only as capitals, so "s" and "m" in prose do not."""
    for size in product.sizes:
        short = len(size.name) <= 3
        if re.search(rf"(?<![\w/]){re.escape(size.name)}(?![\w/])", text,
                     0 if short else re.IGNORECASE):
            return True
    return False



def question_for(facet: str, candidates: Sequence[Product], language: str) -> tuple[str, list[str]]:
    """The clarifying question about ``facet`` and its quick-reply options."""
    t = TEXTS[language]
    if facet == "persons":
        counts = sorted({int(v) for v in facet_values(candidates, "persons") if v})
        options = [t["persons_option"](n) for n in counts[:5]]
    elif facet == "price":
        prices = sorted(p.value("price") or 0.0 for p in candidates)
        cuts = sorted({_round_price(prices[len(prices) // 3]), _round_price(prices[2 * len(prices) // 3])})
        options = [t["price_option"](c) for c in cuts if c > 0]
    elif facet == "use":
        seen: dict[str, None] = {}
        for p in candidates:
            for item in p.facts.get("use", Fact("use", "", "")).items[:2]:
                seen.setdefault(item, None)
        options = list(seen)[:5]
    else:
        options = list(t["options"][facet])
    return t[f"ask_{facet}"], options + [t["no_preference"]]


def _round_price(value: float) -> int:
    step = 50 if value >= 200 else 25 if value >= 60 else 10
    return int(math.ceil(value / step) * step)



class Adviser:
    """Product advice over the catalog of one view. Stateless; the thread travels with the
    answers (``Advice.state``) and comes back in the history (``Turn.advice``)."""

    def __init__(self, catalog: Callable[[str], list[Product]],
                 vocabulary: Callable[[], Vocabulary] = lambda: EMPTY) -> None:
        self.catalog = catalog
        self.vocabulary = vocabulary

    def respond(self, text: str, language: str, view: str = "customer",
                history: Sequence[Turn] = ()) -> Advice | None:
        """Advice for ``text``, or None when it is not a pre-sales message."""
        products = self.catalog(view)
        if not products:
            return None
        language = language if language in TEXTS else "de"
        vocabulary = self.vocabulary()
        categories = sorted({p.category for p in products if p.category})
        names = [p.name for p in products]
        named = named_products(text, names)
        thread = Thread.from_dict(history[-1].advice) if history and history[-1].advice else None
        if thread and thread.pending:
            return self._continue(text, language, products, categories, thread, vocabulary)
        compared = named if len(named) >= 2 else mentioned_products(text, names)
        if len(compared) >= 2 and _COMPARE_CUE.search(text):
            return self.compare([_by_name(products, n) for n in compared[:3]], text, language,
                                categories, vocabulary)
        needs = read_needs(text, categories, vocabulary, language=language)
        if len(named) == 1 and needs.measure and (
                _SIZE_CUE.search(text) or _names_a_size(_by_name(products, named[0]), text)):
            return self.size(_by_name(products, named[0]), needs, language)
        if len(named) == 1 and language == "en":
            return self.fact(_by_name(products, named[0]), text, language)
        if named:
            return None
        facet = _asked_facet(text)
        # Only a bare question about the fact: "höchstens 700 g" is a need, not a question.
        stated = needs.given() - {"categories", "words"}
        if facet and len(needs.categories) == 1 and not stated and not _ADVICE_CUE.search(text):
            return self.facet_list(needs.categories[0], facet, products, language)
        if _KNOWLEDGE_QUESTION.match(text):
            return None
        if not (_ADVICE_CUE.search(text) or needs.categories and _WEAK_CUE.search(text)):
            return None
        if not needs.categories and not any(use_match(p, needs) for p in products):
            return None  # "Ich suche meine Bestellung": not about anything we sell
        return self.recommend(needs, Thread(needs), language, products, categories)

    def rescue(self, text: str, language: str, view: str = "customer") -> Advice | None:
        """Advice for a message the cue words missed, asked only when the documents have
        no answer for it (instead of a handoff): one category we sell, and a need stated
        (a season, a budget, persons, a temperature, a weight …) or a wish ("need a tent",
        "Regenjacke gesucht"). A question about a named product is left alone."""
        products = self.catalog(view)
        if not products or named_products(text, [p.name for p in products]):
            return None
        language = language if language in TEXTS else "de"
        categories = sorted({p.category for p in products if p.category})
        needs = read_needs(text, categories, self.vocabulary(), language=language)
        if len(needs.categories) != 1:
            return None
        stated = needs.given() - {"categories", "words"}
        if not stated and (_KNOWLEDGE_QUESTION.match(text) or not _WISH.search(text)):
            return None
        return self.recommend(needs, Thread(needs), language, products, categories)

    def facet_list(self, category: str, facet: str, products: list[Product],
                   language: str) -> Advice | None:
        """One fact across a category ("Wie hell sind eure Stirnlampen?"): every product of
        the category with its value, cited; None when the category has only one product
        that states it (its page answers that in prose)."""
        rows = [(p, fact_of(p, facet)) for p in products if p.category == category]
        rows = sorted(((p, f) for p, f in rows if f is not None),
                      key=lambda row: (row[1].low if row[1].low is not None else 0.0, row[0].name))
        if len(rows) < 2:
            return None
        t = TEXTS[language]
        picks = tuple(Pick(p, (f,), "", n) for n, (p, f) in enumerate(rows, start=1))
        lines = [t["facet_list"].format(label=fact_label(rows[0][1], language), category=category)]
        lines += [f"- **{pk.product.name}** – {facts_text(pk.facts, language)} [{pk.n}]."
                  for pk in picks]
        return Advice("facet_list", "\n".join(lines), picks,
                      tuple(citation(pk.product, pk.n, pk.facts) for pk in picks))

    # -- the dialogue -------------------------------------------------------------------
    def _continue(self, text: str, language: str, products: list[Product],
                  categories: list[str], thread: Thread, vocabulary: Vocabulary) -> Advice | None:
        pending = thread.pending
        said = read_needs(text, categories, vocabulary, pending, language)
        if pending == "category" and not said.categories:
            chosen = find_categories(text, categories, vocabulary, language) or tuple(
                c for c in categories if fold(c) in fold(text))
            said = replace(said, categories=chosen)
        if pending == "use" and not said.words and not NO_PREFERENCE.match(text):
            said = replace(said, words=tuple(word_stem(fold(w)) for w in words(text) if len(w) >= 4))
        if said.is_empty() and not NO_PREFERENCE.match(text):
            if text.strip().endswith("?") or len(words(text)) > 6:
                return None  # a new question: the dialogue is left, the question answered
            said = Needs(no_preference=(pending,) if pending else ())
        needs = thread.needs.merged(said)
        return self.recommend(needs, Thread(needs, thread.asked, None), language, products,
                              categories)

    def recommend(self, needs: Needs, thread: Thread, language: str, products: list[Product],
                  categories: list[str]) -> Advice:
        t = TEXTS[language]
        in_category = [p for p in products if p.category in needs.categories] \
            if needs.categories else []
        if not in_category:
            by_words = [p for p in products if soft_score(p, needs) >= 1]
            found = sorted({p.category for p in by_words if p.category})
            if len(found) == 1:
                needs = replace(needs, categories=tuple(found))
                in_category = [p for p in products if p.category == found[0]]
            elif len(thread.asked) < MAX_QUESTIONS and "category" not in thread.asked:
                options = (found or needs.categories or categories)[:6]
                return Advice("ask", t["ask_category"], (), (), tuple(options),
                              Thread(needs, thread.asked + ["category"], "category"))
            else:
                in_category = by_words or products
        fits = [p for p in in_category if not misses(p, needs, language)]
        ranked = rank(fits, needs)
        best = soft_score(ranked[0], needs) if ranked else 0.0
        top = [p for p in ranked if soft_score(p, needs) >= best] if best > 0 else ranked
        if len(top) > MAX_PICKS and len(thread.asked) < MAX_QUESTIONS:
            facet = choose_question(top, needs, thread.asked)
            if facet:
                question, options = question_for(facet, top, language)
                lead = t["lead_ask"].format(count=len(top)) if not thread.asked else ""
                return Advice("ask", lead + question, (), (), tuple(options),
                              Thread(needs, thread.asked + [facet], facet))
        thread = Thread(needs, thread.asked, None)
        if not fits:
            return self._nothing_fits(needs, in_category, thread, language)
        picks = []
        for n, p in enumerate(top[:MAX_PICKS] or ranked[:MAX_PICKS], start=1):
            facts = reason_facts(p, needs)
            picks.append(Pick(p, tuple(facts), t["why"].format(needs=needs_text(needs, language)
                                                                 or facts_text(facts[:2], language)), n))
        described = needs_text(needs, language)
        head = (t["one"] if len(picks) == 1 else t["intro"]).format(needs=described) \
            if described else t["intro_plain"]
        lines = [head] + [f"- **{pk.product.name}** – {facts_text(pk.facts, language)} [{pk.n}]."
                          for pk in picks]
        if len(picks) > 1:
            lines.append(t["more"])
        return Advice("recommend", "\n".join(lines), tuple(picks),
                      tuple(citation(pk.product, pk.n, pk.facts) for pk in picks), (), thread)

    def _nothing_fits(self, needs: Needs, candidates: list[Product], thread: Thread,
                      language: str) -> Advice:
        t = TEXTS[language]
        described = needs_text(needs, language) or ", ".join(needs.categories)
        if not candidates:
            return Advice("nothing_fits", t["none"].format(needs=described), (), (), (), thread)
        closest = min(candidates, key=lambda p: (len(misses(p, needs, language)),
                                                 -soft_score(p, needs), p.value("price") or 0))
        missed = misses(closest, needs, language)
        shown = [f for _, f, _ in missed if f is not None]
        facts = list(dict.fromkeys(shown + reason_facts(closest, needs)))[:4]
        text = t["none"].format(needs=described) + " " + t["closest"].format(
            name=f"**{closest.name}**", facts=facts_text(facts, language), n=1,
            misses="; ".join(why for _, _, why in missed))
        pick = Pick(closest, tuple(facts), "; ".join(why for _, _, why in missed), 1)
        return Advice("nothing_fits", text, (pick,), (citation(closest, 1, facts),), (), thread)

    # -- comparisons, sizes, facts ------------------------------------------------------
    def compare(self, products: list[Product], text: str, language: str, categories: list[str],
                vocabulary: Vocabulary) -> Advice:
        t = TEXTS[language]
        facets = [f for f in _FACET_ORDER if any(fact_of(p, f) for p in products)]
        head = "| | " + " | ".join(f"{p.name} [{n}]" for n, p in enumerate(products, 1)) + " |"
        rows = [head, "|---" * (len(products) + 1) + "|"]
        for facet in facets:
            label = LABELS_EN.get(facet, facet) if language == "en" else FACETS[facet][0]
            cells = []
            for n, p in enumerate(products, 1):
                fact = fact_of(p, facet)
                cells.append(f"{fact_text(fact, language)} [{n}]" if fact else "–")
            rows.append(f"| {label} | " + " | ".join(cells) + " |")
        sizes = [", ".join(s.name for s in p.sizes) for p in products]
        if any(sizes):
            label = "Größen" if language == "de" else "sizes"
            rows.append(f"| {label} | " + " | ".join(f"{s} [{n}]" if s else "–"
                                                      for n, s in enumerate(sizes, 1)) + " |")
        lines = [t["compare"], "", *rows]
        needs = read_needs(_strip_names(text, products), categories, vocabulary, language=language)
        needs = replace(needs, categories=())
        picks = [Pick(p, tuple(f for f in (fact_of(p, facet) for facet in facets) if f), "", n)
                 for n, p in enumerate(products, 1)]
        if not needs.is_empty():
            fitting = rank([p for p in products if not misses(p, needs, language)], needs)
            if fitting and (len(fitting) < len(products) or soft_score(fitting[0], needs) >
                            soft_score(fitting[-1], needs)):
                winner = fitting[0]
                n = products.index(winner) + 1
                facts = reason_facts(winner, needs)[:3]
                lines += ["", t["compare_fit"].format(needs=needs_text(needs, language) or
                                                      ", ".join(needs.words), name=f"**{winner.name}**",
                                                      facts=facts_text(facts, language), n=n)]
                picks = [replace(pk, reason=t["why"].format(needs=needs_text(needs, language)))
                         if pk.product is winner else pk for pk in picks]
        citations = tuple(citation(p, n, pk.facts) for n, (p, pk) in
                          enumerate(zip(products, picks, strict=True), 1))
        return Advice("compare", "\n".join(lines), tuple(picks), citations)

    def size(self, product: Product, needs: Needs, language: str) -> Advice | None:
        assert needs.measure is not None
        key, value = needs.measure
        rows = sizes_with(product, key)
        if not rows:
            return None
        t = TEXTS[language]
        # "Körpergröße bis" heads a column of limits; the sentence names the measure.
        label = re.sub(r"\s+(?:bis|max\.?)$", "", fact_label(rows[0][1], language)) \
            if language == "de" else MEASURE_LABELS.get(key, (key, key))[1]
        shown_value = f"{number_text(num(value), language)} cm"
        fitting = fitting_sizes(product, needs.measure)
        if len(fitting) == 1:
            size, fact = fitting[0]
            text = t["size_one"].format(value=shown_value, label=label, name=product.name,
                                        size=size.name, range=range_text(fact, language), n=1)
        elif len(fitting) >= 2:
            (a, fa), (b, fb) = fitting[0], fitting[-1]
            text = t["size_two"].format(value=shown_value, label=label, name=product.name, a=a.name,
                                        b=b.name, range_a=range_text(fa, language),
                                        range_b=range_text(fb, language), n=1)
        else:
            lows = [f.low for _, f in rows if f.low is not None]
            highs = [f.high for _, f in rows if f.high is not None]
            text = t["size_none"].format(name=product.name, value=shown_value, label=label,
                                         low=number_text(num(min(lows)), language),
                                         high=number_text(num(max(highs)), language),
                                         unit=rows[0][1].unit, n=1)
        facts = [f for _, f in (fitting or rows)]
        pick = Pick(product, tuple(facts), ", ".join(s.name for s, _ in fitting), 1)
        return Advice("size", text, (pick,), (citation(product, 1, facts),))

    def fact(self, product: Product, text: str, language: str) -> Advice | None:
        """An English sentence for one fact of one product ("How heavy is the AlpinPro 50?")."""
        plain = _strip_names(text, [product]).strip()
        if re.search(r"\d", plain):
            return None  # a question about a particular number is answered from the prose
        facet = next((f for f, pattern in _ENGLISH_ATTRIBUTES if pattern.search(plain)), None)
        if facet is None:
            return None
        if facet == "sizes":
            if not product.sizes:
                return None
            listed = "; ".join(f"{s.name} ({facts_text(list(s.measures.values()), language)})"
                               if s.measures else s.name for s in product.sizes)
            facts = [f for s in product.sizes for f in s.measures.values()]
            sentence = f"The {product.name} comes in these sizes: {listed} [1]."
            return Advice("fact", sentence, (Pick(product, tuple(facts), "", 1),),
                          (citation(product, 1, facts),))
        fact = product.facts.get(facet)
        per_size = [(s, f) for s in product.sizes for f in s.measures.values() if f.facet == facet]
        asked = SIZE_NAME.search(plain)
        if asked:  # "How heavy is it in size L?": that size's value, or the prose answers
            per_size = [(s, f) for s, f in per_size if fold(s.name) == fold(asked.group(1))]
            if not per_size:
                return None
            fact = None
        if fact is None and not per_size:
            return None
        verb = {"weight": "weighs", "price": "costs", "volume": "holds"}.get(facet)
        label = LABELS_EN.get(facet, facet)
        if per_size and fact is None:
            parts = [f"{fact_text(f, language)} in size {s.name}" for s, f in per_size]
            value = ", ".join(parts[:-1]) + f" and {parts[-1]}" if len(parts) > 1 else parts[0]
            facts = [f for _, f in per_size]
        else:
            assert fact is not None
            value, facts = fact_text(fact, language), [fact]
        sentence = (f"The {product.name} {verb} {value} [1]." if verb else
                    f"The {product.name} has a {label} of {value} [1].")
        return Advice("fact", sentence, (Pick(product, tuple(facts), "", 1),),
                      (citation(product, 1, facts),))


def _by_name(products: Sequence[Product], name: str) -> Product:
    return next(p for p in products if p.name == name)


def _strip_names(text: str, products: Sequence[Product]) -> str:
    for p in products:
        text = re.sub(re.escape(p.name), " ", text, flags=re.IGNORECASE)
    return text
