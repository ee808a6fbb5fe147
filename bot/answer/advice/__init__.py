"""Product advice from the catalog of facts: recommend, compare, size, in German and English.

A good salesperson asks what the customer needs and recommends what fits, with reasons.
This package does that offline and by rule, so every product and every fact it names comes
from the catalog (``kb.catalog``) and is cited:

- a pre-sales need ("Ich suche ein Zelt für 2 Personen", "I'm looking for a rain jacket")
  is read into ``Needs``; the products of the asked category are filtered by the hard
  needs (budget, persons, weight, season, size) and ranked by the soft ones (uses and
  features named);
- while more than three products fit and something decisive is open, it asks **one**
  question about the facet that splits the candidates best, with quick-reply options,
  at most three times;
- it recommends one to three products, each with the facts that make it fit; when
  nothing fits it says so and names the closest product and why it misses;
- "Unterschied zwischen A und B" gets a table of both products' facts; a body measure
  with a product ("Rückenlänge 48 cm, welche Größe beim AlpinPro 35?") gets the size from
  its size table; an English question about one product's fact gets an English sentence.

The conversation state (needs so far, questions asked, the question pending) travels
with the answer (``Answer.advice``) and comes back with the history, so advice works
across processes and after a reload.

The package: ``needs`` reads what the customer asks for, ``ranking`` filters and orders the
products and picks the question worth asking, ``texts`` words it in German and English, and
``dialogue`` holds the ``Adviser`` that runs one turn of the conversation.
"""

from bot.answer.advice.dialogue import Advice, Adviser, Pick
from bot.answer.advice.needs import Needs, Thread, find_categories, read_needs
from bot.answer.advice.texts import source_lines

__all__ = ["Advice", "Adviser", "Needs", "Pick", "Thread", "find_categories", "read_needs",
           "source_lines"]
