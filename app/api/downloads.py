"""File names for what the pages offer to save: a meeting's title is whatever its uploader
typed, so it is reduced to a slug (letters and digits of any script, joined by '-'; quotes,
slashes, dots, line breaks and the rest only separate words) before it names a file. The
header carries an ASCII name for old clients and the UTF-8 one as RFC 6266's `filename*`."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

MAX_STEM = 80
FALLBACK = "meeting"
_WORD = re.compile(r"[^\W_]+")  # letters and digits of any script, nothing else


def slug(title: str, *, ascii_only: bool = False) -> str:
    """The title's words, lower case, joined by '-' and cut to `MAX_STEM` characters;
    `FALLBACK` when none is left (a title of punctuation, or of another script when
    `ascii_only`)."""
    text = unicodedata.normalize("NFKD" if ascii_only else "NFKC", title)
    if ascii_only:
        text = text.encode("ascii", "ignore").decode("ascii")
    stem = "-".join(_WORD.findall(text)).lower()[:MAX_STEM].strip("-")
    return stem or FALLBACK


def attachment(title: str, name: str) -> str:
    """A Content-Disposition value that saves the download as `<title slug>-<name>` (name:
    e.g. 'transcript.srt', fixed by the server)."""
    plain = f"{slug(title, ascii_only=True)}-{name}"
    full = f"{slug(title)}-{name}"
    value = f'attachment; filename="{plain}"'
    if full != plain:
        value += f"; filename*=UTF-8''{quote(full, safe='')}"
    return value
