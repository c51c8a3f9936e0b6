"""What a command says on stderr about training: every reason the gate or capture can give
has words a person reads, and a line carries both the words and the codes."""

from __future__ import annotations

from minutekeeper.cli.context import REASON_WORDS, training_line
from minutekeeper.consent.errors import RedactionFailed, SourceDeleted
from minutekeeper.consent.gate import Reason
from minutekeeper.features.offers import Outcome


def test_every_reason_the_gate_or_capture_gives_has_words() -> None:
    codes = {reason.value for reason in Reason} | {RedactionFailed.code, SourceDeleted.code}
    assert codes - set(REASON_WORDS) == set()


def test_a_line_says_kept_or_why_not_in_words_then_codes() -> None:
    assert training_line(Outcome("chat_final", kept=True)) == "training: chat_final kept"
    refused = Outcome("chat_draft", kept=False, reasons=("NON_CONSENTING_CONTRIBUTOR", "WITHDRAWN"))
    assert training_line(refused) == (
        "training: chat_draft not kept: not everyone in it has agreed; someone in it withdrew "
        "their consent (NON_CONSENTING_CONTRIBUTOR, WITHDRAWN)"
    )
    failed = Outcome("all", kept=False, reasons=("CAPTURE_FAILED",), error="OSError")
    assert training_line(failed) == "warning: training capture failed (OSError)"
