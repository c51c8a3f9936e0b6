"""Who the pipeline reads as a person when no roster names them: the rules of
`PeopleRecognizer`, on the model's entities and tags, its dictionary and name lists of many
countries (`consent.gazetteer`).
"""

from __future__ import annotations

from typing import Any

from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from minutekeeper.consent.gazetteer import Gazetteer, plain
from minutekeeper.consent.ner_pipeline import dictionary_words

# Words of speech that no dictionary lists; never a name.
FILLERS = frozenset(
    {"um", "uh", "erm", "er", "ah", "oh", "eh", "huh", "hmm", "mm", "mmm", "mhm", "yeah",
     "yep", "yay", "nope", "okay", "ok", "wow", "oops", "gonna", "wanna", "gotta", "kinda",
     "sorta"}
)  # fmt: skip


class PeopleRecognizer(EntityRecognizer):
    """People the pipeline finds, by rules that know no one's name but read name lists
    of many countries (`consent.gazetteer`):

    - the named-entity recognizer's PERSONs that hold a proper noun ("Bill the client" is
      a verb, and is kept);
    - a capitalised proper noun that is no English word, whatever type the small model
      guessed for it: it reads names it has not seen as places or companies ("Thanks,
      Temitope" is a GPE to it). An unknown company or product name is hidden too, the
      price of not keeping a name, except after an article ("the Jira board");
    - a capitalised given name that WordNet, the dictionary, lists as a noun only: it
      lists people ("Basil", "Jasper", "Iris"), and a verb or adjective ("Will", "Mark",
      "Grant") is never taken for a name by this rule;
    - in lowercase speech ("okay thanks ingrid"), those words are capitalised and the
      pipeline runs again (`_reread`).

    A name found grows over the capitalised proper nouns beside it ("Ingrid Ferreira").
    """

    def __init__(self, nlp: Any, words: frozenset[str], names: Gazetteer) -> None:
        super().__init__(supported_entities=["PERSON"], name="people")
        self._nlp = nlp
        stop = {w.lower() for w in nlp.Defaults.stop_words} | FILLERS
        self._known = words | stop
        self._common = dictionary_words(nlp, nouns=False) | stop
        self._gazetteer = names

    def load(self) -> None:
        """Nothing to load: the pipeline ran before any recognizer."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        if nlp_artifacts is None or nlp_artifacts.tokens is None:
            return []
        doc = nlp_artifacts.tokens
        found = self._names(doc) | self._reread(doc)
        return [RecognizerResult("PERSON", start, end, 0.85) for start, end in _runs(doc, found)]

    def _reread(self, doc: Any) -> set[int]:
        """In lowercase speech, the names found once the words that may be names are
        capitalised and the pipeline has read the text again. Those words seed a name; a
        word beside one that may be a given or family name (`_companion`: "hamid song",
        "basil harvey") is capitalised too, and joins the name only where the second
        reading takes it for part of the name (`_joins`)."""
        lowered = {t.i for t in doc if t.is_lower and self._name_like(t)}
        if not lowered or not _lowercase_speech(doc):
            return set()
        beside = {
            i + step
            for i in lowered
            for step in (-1, 1)
            if 0 <= i + step < len(doc)
            and i + step not in lowered
            and self._companion(doc[i + step], before=step < 0)
        }
        chars = list(doc.text)
        for i in lowered | beside:
            upper = chars[doc[i].idx].upper()
            if len(upper) == 1:  # "ß" would become "SS" and shift every offset after it
                chars[doc[i].idx] = upper
        reread = self._nlp("".join(chars))
        # The capitals are ours, not the speaker's: a word starts a name only where the
        # second reading takes it for a person, or for a proper noun if it is no word
        # (a given name that is also one, "aurora" or "mike", needs the person).
        seeds = {
            i
            for i in lowered
            if _person_of(reread[i]) or (self._unknown(doc[i]) and reread[i].pos_ == "PROPN")
        }
        return self._names(reread, only=seeds, beside=frozenset(beside))

    def _joins(self, token: Any) -> bool:
        """Whether a word capitalised for being beside a name is part of it, on the second
        reading: in a PERSON, or a proper noun that a name list holds (in "Basil Harvey" or
        "Hamid Song" the model may read no person)."""
        return _person_of(token) is not None or (token.pos_ == "PROPN" and self._listed(token))

    def _companion(self, token: Any, *, before: bool) -> bool:
        """A lowercase word that may be part of a name beside one: a given name before it
        ("hazel wetherell"), a family name after it ("hamid song")."""
        word = plain(token.text)
        if not token.is_lower or not token.is_alpha or token.is_stop or word in FILLERS:
            return False
        if before:  # a given name, not a verb before one ("we should ping lucy")
            return word in self._gazetteer.given and token.pos_ in ("NOUN", "PROPN", "ADJ")
        return word in self._gazetteer.family

    def _unknown(self, token: Any) -> bool:
        """Whether the token is no English word, in any of its forms ("dashboards")."""
        word = token.text
        return (
            len(word) > 1
            and word.isalpha()
            and plain(word) not in self._known
            and plain(token.lemma_) not in self._known
        )

    def _name_like(self, token: Any) -> bool:
        """No English word, or a given name that two locales list and that the dictionary
        has only as a noun ("Basil", "Iris": WordNet's people), never as a verb or an
        adjective ("Will", "Mark", "Grant")."""
        if self._unknown(token):
            return True
        word = plain(token.text)
        return word in self._gazetteer.shared and not {word, plain(token.lemma_)} & self._common

    def _seed(self, token: Any) -> bool:
        """A word that starts a name:

        - a proper noun in a PERSON, but not a lone word opening a sentence ("Bill the
          client") unless it may be a name (`_name_like`);
        - a capitalised proper noun that is no English word, whatever type the model took
          it for; a capitalised word that a name list holds and no dictionary does,
          whatever part of speech the tagger took it for ("I think Anjali has them": an
          adjective to it), where the capital says something (not at an opening);
        - a capitalised proper noun that is a given name the dictionary has only as a noun
          (`_name_like`), unless the model reads it as a place ("Paris") or it opens a
          sentence, where a capital says nothing ("Autumn is our busiest season").

        What an article or a possessive stands before is a thing ("the Phoenix release",
        "our Jira board"): only a listed name that is no word, or a full name the model
        reads as a person with a listed part, counts there.
        """
        if plain(token.text) in FILLERS:
            return False
        surely = self._unknown(token) and self._listed(token)
        entity = _person_of(token)
        # A full name the model reads as a person stays a person after a possessive or an
        # article ("our Dana Quartz", "the Mallory Stone we met") when a name list holds a
        # part of it.
        full_name = entity is not None and len(entity) > 1 and any(map(self._listed, entity))
        if _articled(token) and not (surely or full_name):
            return False
        if token.pos_ != "PROPN":
            return surely and token.is_title and not _opens(token)
        lone = entity is not None and len(entity) == 1 and token.is_sent_start
        if entity is not None and not (lone and not self._name_like(token)):
            return True
        if not token.is_title or token.ent_type_ in NUMERIC:
            return False
        if self._unknown(token):
            return True
        return token.ent_type_ not in PLACES and not _opens(token) and self._name_like(token)

    def _listed(self, token: Any) -> bool:
        """Whether a name list holds the word, as a given or a family name."""
        word = plain(token.text)
        return word in self._gazetteer.given or word in self._gazetteer.family

    def _grows(self, token: Any, step: int) -> bool:
        """Whether a name grows over this neighbour: a capitalised proper noun after it
        ("Ingrid Ferreira"), one before it only if that is no word ("Hello Bob")."""
        if _joins_name(token.doc, token.i):
            return True
        if token.pos_ != "PROPN" or not token.is_title:
            return False
        return step > 0 or self._name_like(token) or _person_of(token) is not None

    def _names(
        self, doc: Any, *, only: set[int] | None = None, beside: frozenset[int] = frozenset()
    ) -> set[int]:
        """Indices of the tokens read as (part of) a name; with `only`, those alone count
        as seeds (the tokens capitalised for a second reading), and a name grows over the
        tokens in `beside` only where the reading takes them for part of it (`_joins`)."""
        seeds = {t.i for t in doc if (only is None or t.i in only) and self._seed(t)}
        grown = set(seeds)
        for i in seeds:
            for step in (-1, 1):
                j = i + step
                while 0 <= j < len(doc) and self._grows(doc[j], step):
                    if j in beside and not self._joins(doc[j]):
                        break
                    grown.add(j)
                    j += step
        return grown


def _lowercase_speech(doc: Any) -> bool:
    """Whether the text is written in lowercase, as some transcripts are: most of its
    sentences and speaker turns start with a lowercase word. Only there is a word that no
    dictionary lists likely a name rather than jargon ("emoji")."""
    starts = [t for t in doc if t.is_alpha and t.text != "Speaker" and _opens(t)]
    return bool(starts) and 2 * sum(t.is_lower for t in starts) >= len(starts)


def _opens(token: Any) -> bool:
    """Whether the token opens a sentence, a line, or what follows a colon or a dash."""
    if token.is_sent_start:
        return True
    before = token.doc[token.i - 1] if token.i > 0 else None
    return before is not None and (before.text in (":", "-") or "\n" in before.text_with_ws)


def _runs(doc: Any, indices: set[int]) -> list[tuple[int, int]]:
    """Character spans of the runs of consecutive tokens among `indices`: one name, one
    placeholder ("Ingrid Ferreira")."""
    runs: list[tuple[int, int]] = []
    for i in sorted(indices):
        start, end = doc[i].idx, doc[i].idx + len(doc[i])
        if runs and i - 1 in indices:
            runs[-1] = (runs[-1][0], end)
        else:
            runs.append((start, end))
    return runs


def _joins_name(doc: Any, i: int) -> bool:
    """A hyphen or apostrophe inside a name ("Hyun-woo", "al-rashid"), and what stands
    either side of it."""
    if doc[i].text in JOINERS:
        return i > 0 and not doc[i].whitespace_ and not doc[i - 1].whitespace_
    before = i > 0 and doc[i - 1].text in JOINERS and _joins_name(doc, i - 1)
    return before or (i + 1 < len(doc) and doc[i + 1].text in JOINERS and _joins_name(doc, i + 1))


def _articled(token: Any) -> bool:
    """Whether an article, a demonstrative or a possessive opens the noun phrase the token
    is in ("the Phoenix release", "a local mike"), or stands right before the capitalised
    words around it: people's names go without one."""
    head = token
    while head.dep_ == "compound" and head.head.i != head.i:
        head = head.head
    if any(c.dep_ in ("det", "poss") and c.i < token.i for c in head.children):
        return True
    i = token.i
    while i > 0 and token.doc[i - 1].is_title and token.doc[i - 1].pos_ == "PROPN":
        i -= 1
    before = token.doc[i - 1] if i > 0 else None
    return before is not None and (before.pos_ == "DET" or before.dep_ == "poss")


NUMERIC = frozenset({"DATE", "TIME", "MONEY", "QUANTITY", "CARDINAL", "ORDINAL", "PERCENT"})
PLACES = frozenset({"GPE", "LOC", "FAC"})
JOINERS = ("-", "'")


def _person_of(token: Any) -> Any:
    """The PERSON entity the token is in, when it holds a proper noun; else None."""
    if token.ent_type_ != "PERSON":
        return None
    entity = next(e for e in token.doc.ents if e.start <= token.i < e.end)
    return entity if any(t.pos_ == "PROPN" for t in entity) else None
