"""Compose's actions for every entry point: `compose_draft` (draft a message and keep it as
shown) and `give_feedback` (what was actually sent); `draft_message` is their model step.

`draft_message`: a reply, a meeting follow-up or a rewrite, checked before it is shown.

Preprocess (fit the thread to the model's window, build the prompt) -> generate -> clean
(no echo, no labels, no next turn, no loop) -> check (asked-for names, dates and numbers
present, a rewrite's facts kept, length in band, the user's own voice, nothing from
messages the user was not shown). A draft that fails a check is asked for again, up to
twice, the prompt saying what to fix (or replaced by an alternative that passes). A
follow-up whose drafts all fail is written from the meeting's items instead, when that
passes the same checks (the draft says so); whatever still fails leads the draft
(`Draft.headline`), never hidden.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy.engine import Engine

from minutekeeper.features.compose import checks, followup, prompts
from minutekeeper.features.compose.draft import FROM_ITEMS, ComposeRequest, Draft, said
from minutekeeper.features.compose.errors import EmptyDraft, InvalidChoice
from minutekeeper.features.compose.store import (
    Feedback,
    StoredDraft,
    get_draft,
    record_draft,
    record_feedback,
)
from minutekeeper.features.compose.thread import Message, Thread
from minutekeeper.features.meetings.store import find_meeting
from minutekeeper.features.summary.summary import Summary
from minutekeeper.models.cache import ModelProvider
from minutekeeper.models.llm import ChatMessage, OnToken, TextGenerator

MAX_NEW = {"short": 96, "medium": 220, "long": 480}
RETRY_TEMPERATURE = 0.7
# No run of 4 tokens twice in a draft: a fine-tuned Gemma 3 270M looped on 36 % of its
# answers under greedy decoding and on none with this (scripts/eval_finetune.py --decoding).
NO_REPEAT_NGRAM = 4
RETRIES = 2  # tries beyond the n drafts asked for, each told what the last one got wrong
_QUOTES = "\"'\u201c\u201d\u2018\u2019"  # straight and curly quotes


def compose_draft(
    engine: Engine,
    request: ComposeRequest,
    thread: Thread,
    *,
    tenant_id: str,
    author_id: str,
    models: ModelProvider,
    meeting_id: str | None = None,
    summary: Summary | None = None,
    owner_id: str | None = None,
) -> StoredDraft:
    """Draft a message for the author and keep it as it was shown. A follow-up is written
    from a saved meeting (`meeting_id`, one of `owner_id`'s when given) or a summary."""
    if request.mode == "reply" and not thread.messages:
        raise InvalidChoice("reply needs the thread it answers")
    if meeting_id is not None and summary is not None:
        raise InvalidChoice("give a meeting or a summary for the follow-up, not both")
    if meeting_id is not None:
        stored = find_meeting(engine, tenant_id, meeting_id, owner_id=owner_id)
        if stored.summary is None:
            raise InvalidChoice(f"meeting {stored.info.id} has no summary yet")
        summary, meeting_id = stored.summary, stored.info.id
    if request.mode == "followup" and summary is None:
        raise InvalidChoice("followup needs a meeting: one of your meetings' ids")
    draft = draft_message(thread, request, generator=models.generator(), meeting=summary)
    draft_id = record_draft(
        engine,
        tenant_id=tenant_id,
        author_id=author_id,
        request=request,
        thread=thread.messages,
        draft=draft,
        model_id=draft.written_by,
        meeting_id=meeting_id,
    )
    return get_draft(engine, tenant_id=tenant_id, author_id=author_id, draft_id=draft_id)


def give_feedback(
    engine: Engine,
    draft_id: str,
    *,
    tenant_id: str,
    author_id: str,
    sent_text: str,
    rating: int | None = None,
) -> tuple[Feedback, bool]:
    """Record what was actually sent for one of the author's drafts; also whether this is
    its first feedback (the same feedback again changes nothing and is not new)."""
    before = get_draft(engine, tenant_id=tenant_id, author_id=author_id, draft_id=draft_id).feedback
    recorded = record_feedback(
        engine,
        tenant_id=tenant_id,
        author_id=author_id,
        draft_id=draft_id,
        sent_text=sent_text,
        rating=rating,
    )
    return recorded, before is None


def draft_message(
    thread: Thread,
    request: ComposeRequest,
    *,
    generator: TextGenerator,
    meeting: Summary | None = None,
    on_token: OnToken | None = None,
) -> Draft:
    """A checked draft. `on_token` follows generation (its count restarts with each
    attempt); it sees no text, since only a checked draft may be shown."""
    notes: list[str] = []
    used: tuple[Message, ...] = ()
    items: tuple[str, ...] = ()
    expected: list[str] = []
    if request.mode == "reply":
        if not thread.visible():
            raise InvalidChoice("the thread has no messages to reply to")
        used = fit(thread.visible(), generator, request, notes)
        if not request.instruction.strip():
            notes.append("No instruction given: the reply answers the thread alone.")
        messages = prompts.reply(used, user=request.user, instruction=request.instruction,
                                 tone=request.tone, length=request.length)  # fmt: skip
    elif request.mode == "followup":
        if meeting is None:
            raise InvalidChoice("followup needs a meeting (its summary)")
        text, items, expected = followup.notes(meeting, user=request.user, length=request.length)
        messages = prompts.followup(text, user=request.user, instruction=request.instruction,
                                    tone=request.tone, length=request.length)  # fmt: skip
    else:
        messages = prompts.rewrite(request.instruction, user=request.user, tone=request.tone,
                                   length=request.length)  # fmt: skip
    texts, failed = _generate(messages, request, generator, thread.hidden(), used, expected,
                              on_token)  # fmt: skip
    written_by = generator.name
    if failed and meeting is not None and request.mode == "followup":
        written = followup.from_items(
            meeting, user=request.user, tone=request.tone, length=request.length
        )
        if written is not None and not _problems(written, request, (), expected):
            notes.append(f"The model's best draft {said(failed)}.")
            texts, failed = [written, *texts[: request.n - 1]], []
            written_by = FROM_ITEMS
    return Draft(
        text=texts[0],
        alternatives=tuple(texts[1:]),
        used_messages=tuple(m.id for m in used),
        used_items=items,
        notes=tuple(notes),
        failed_checks=tuple(failed),
        written_by=written_by,
    )


def fit(
    messages: Sequence[Message], generator: TextGenerator, request: ComposeRequest, notes: list[str]
) -> tuple[Message, ...]:
    """The newest messages that fit the window, plus the ones they reply to; older ones are
    left out (and the draft says how many), never cut in the middle."""
    empty = prompts.reply([], user=request.user, instruction=request.instruction,
                          tone=request.tone, length=request.length)  # fmt: skip
    overhead = sum(generator.count_tokens(m.content) for m in empty) + 32
    # room for the draft, and for a retry's note of what to fix
    budget = generator.context_length - MAX_NEW[request.length] - overhead - 64
    by_id = {m.id: m for m in messages}
    kept: dict[str, Message] = {}
    used = 0
    for message in reversed(messages):
        chain = [message]
        while chain[-1].reply_to in by_id and chain[-1].reply_to not in kept:
            chain.append(by_id[chain[-1].reply_to])
        cost = sum(generator.count_tokens(f"{m.author}: {m.text}") + 1 for m in chain)
        if message.id in kept or used + cost > budget:
            continue
        kept.update((m.id, m) for m in chain)
        used += cost
    if not kept:
        raise InvalidChoice("the newest message alone is longer than the model's window")
    left_out = len(messages) - len(kept)
    if left_out:
        notes.append(f"{left_out} earlier message(s) did not fit the model's window and "
                     "were left out.")  # fmt: skip
    return tuple(m for m in messages if m.id in kept)


def _generate(
    messages: list[ChatMessage],
    request: ComposeRequest,
    generator: TextGenerator,
    hidden: Sequence[Message],
    used: Sequence[Message],
    expected: Sequence[str],
    on_token: OnToken | None = None,
) -> tuple[list[str], list[str]]:
    """n drafts, the first one passing its checks if any does. While none passes, the
    next try asks again saying what to fix in the newest one (up to RETRIES tries beyond
    the n asked for): greedy the first time, sampled after. Alternatives beyond a passing
    draft sample the first prompt (CTranslate2 takes no per-call seed, so they differ from
    run to run)."""
    drafts: list[tuple[str, list[str]]] = []
    # In a reply, a line starting with a participant's name is the thread's next turn.
    speakers = sorted({m.author for m in used} - {request.user}) if request.mode == "reply" else []
    turns = [*speakers, request.user] if request.mode == "reply" else []
    stop = [*prompts.STOP, *(f"\n{name}:" for name in turns)]
    corrected = False
    for attempt in range(request.n + RETRIES):
        prompt, temperature = messages, 0.0 if attempt == 0 else RETRY_TEMPERATURE
        if drafts and all(found for _, found in drafts):
            prompt = prompts.retry(messages, drafts[-1][1], user=request.user,
                                   length=request.length)  # fmt: skip
            if prompt != messages and not corrected:  # the first try told what to fix
                temperature, corrected = 0.0, True
        out = generator.generate(prompt, max_new_tokens=MAX_NEW[request.length],
                                 temperature=temperature, stop=stop, on_token=on_token,
                                 no_repeat_ngram=NO_REPEAT_NGRAM)  # fmt: skip
        text = clean(out.text, user=request.user, speakers=speakers)
        if not text:
            continue
        drafts.append((text, _problems(text, request, hidden, expected)))
        if len(drafts) >= request.n and any(not found for _, found in drafts):
            break
    if not drafts:
        raise EmptyDraft(f"the language model ({generator.name}) returned no text")
    drafts.sort(key=lambda d: len(d[1]))  # stable: passing drafts first, in the order made
    return [text for text, _ in drafts[: request.n]], drafts[0][1]


def _problems(
    text: str, request: ComposeRequest, hidden: Sequence[Message], expected: Sequence[str]
) -> list[str]:
    found = checks.problems(
        text,
        instruction=request.instruction,
        length=request.length,
        hidden=hidden,
        prompt=prompts.scaffolding(
            request.mode, user=request.user, tone=request.tone, length=request.length
        ),
        user=request.user,
        expected=expected,
        rewrite=request.mode == "rewrite",
    )
    if request.mode == "rewrite" and (lost := checks.lost_words(request.instruction, text)):
        found.append(f"{checks.DROPS}{', '.join(lost)}")
    return found


def clean(text: str, *, user: str, speakers: Sequence[str] = ()) -> str:
    """The message alone: no role label or the user's own name in front, no quotes around
    it, nothing after a line that starts a new turn (a role, or a thread participant's
    name), nothing from the first line or sentence that repeats an earlier one (small
    models loop)."""
    names = [*speakers, user] if user.strip() else list(speakers)
    labels = "|".join(["User", "System", "Assistant", "Thread", *map(re.escape, names)])
    text = re.split(rf"\n\s*(?:{labels})\s*:", text)[0].strip()
    text = re.sub(rf"^(?:assistant|{re.escape(user)})\s*:\s*", "", text, flags=re.I)
    kept: list[str] = []
    seen: set[str] = set()
    for line in text.splitlines():
        key = line.strip().lower()
        if key and key in seen:
            break
        seen.add(key)
        kept.append(line)
    text = _unlooped("\n".join(kept).strip())
    if len(text) > 1 and text[0] in _QUOTES and text[-1] in _QUOTES:
        text = text[1:-1].strip()
    return text


def _unlooped(text: str) -> str:
    """The text up to the first sentence (3 words or more) that says an earlier one again."""
    seen: set[str] = set()
    for sentence in re.finditer(r"[^.!?\n]+[.!?]*", text):
        key = " ".join(sentence.group().lower().split())
        if len(key.split()) >= 3 and key in seen:
            return text[: sentence.start()].rstrip()
        seen.add(key)
    return text
