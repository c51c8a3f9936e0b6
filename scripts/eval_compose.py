"""Compose (drafting chat messages) on real IRC threads and on the scripted meetings.

1. reply, on Ubuntu IRC logs (../shared/data/chat_irc). Target T: a chat line >= 1000, 4+
   words, not by ubotu/ubottu, annotated as replying to an earlier line P by another nick.
   T's author drafts it from P's reply chain plus up to 6 more lines of T's conversation
   (linked to P among lines before T): at most 8, in time order. --seed draws them; every
   second one is drawn among targets naming an entity and gets 'Mention "a" and "b".' with
   T's first 3: tokens (after a leading "nick:", "nick," or nick; nicks excepted) with a
   digit or an inner - _ . / + = ~, starting with / or -, in capitals, or capitalised
   mid-sentence. Short, neutral. Also: cosine (project embedder) to T's real text of the
   draft and of the thread's last message (baseline).
2. followup, on examples/scripted/*.json, heldout/, heldout2/ (transcripts as in
   eval_actions.py, extractive summary, first speaker as user, medium). Also: expected
   owners other than the user named; due dates said (phrase less "by", weekday, month and
   day, or ISO date); which follow-ups the product wrote from the meeting's items because
   every model draft failed its checks ("items" in the table); and how much of each draft
   is copied from the notes the model was given (its 6-word runs found there).
3. rewrite, on real IRC lines of the same logs, as they are (lines >= 1000, 5 to 30 words,
   not a bot's, with at least one fact and one chat marker, below): the line's author asks
   for it in a formal tone, short. Facts kept: the checks.required terms (names, numbers,
   dates, versions, paths, quoted text) of the line after the nicks it opens with, less
   chat shorthand (checks.facts), all still in the rewrite. Tone changed, a proxy: chat
   markers (a lowercase first letter or "i", no closing punctuation, shorthand such as u,
   pls, thx, lol, btw, gonna, an apostrophe left out as in dont, emoticons, "..." or "!!"),
   counted in the line and the rewrite (the nicks they open with aside): changed when the
   rewrite has fewer, and how many have none left. A formal message has none of them, so
   their drop is a floor on the change, not proof of it. Wording kept: the product's own
   check that a rewrite keeps over half the line's longer words (a model that answers the
   line instead of rewriting it drops them); the rewrite's embedding cosine to the line is
   printed beside it.

Checks: required entities (checks.required) and length band, from Draft.failed_checks; no
prompt leakage (a role-label line, or a 6-word run from the prompt's own words: system
text, worked example, ask, instruction, less the terms the instruction asks for; not thread
or notes); speaker perspective (the
user's nick then ":", the user in the third person, an AI assistant's voice (a refusal, "as
an AI": checks.ASSISTANT), or, in replies, a later line opening as another's turn, or
another's nick as a signature).

    .venv/bin/python scripts/eval_compose.py [--threads 40] [--rewrites 20] [--seed 0]
        [--show 3] [--llm NAME] [--parts reply,followup,rewrite]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eval_actions import text_transcript

from minutekeeper.core.settings import Settings
from minutekeeper.features.compose import followup, prompts
from minutekeeper.features.compose.checks import (
    ASSISTANT,
    DROPS,
    MISSES,
    TOO_LONG,
    TOO_SHORT,
    facts,
    required,
    words,
)
from minutekeeper.features.compose.draft import FROM_ITEMS, LENGTH_WORDS, ComposeRequest, Draft
from minutekeeper.features.compose.errors import EmptyDraft
from minutekeeper.features.compose.service import draft_message
from minutekeeper.features.compose.thread import Message, Thread
from minutekeeper.features.summary.service import SummaryRequest, summarize_meeting
from minutekeeper.features.summary.summary import Summary
from minutekeeper.models.embeddings import Embedder
from minutekeeper.models.llm import TextGenerator
from minutekeeper.models.registry import build_embedder, build_generator

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
FOLLOWUP = "Send the follow-up to the team with the decisions and who does what by when."
CHECKS = ("required entities", "length band", "no prompt leakage", "speaker perspective")
MAX_THREAD, EXTRA, RUN = 8, 6, 6
_LINE = re.compile(r"^\[(\d\d:\d\d)\] <([^>]+)> (.*\S)")
_ADDRESS = re.compile(r"@?([^\s:,]+)(?:\s*[:,]|\s+-)?\s+")
_ENTITY = re.compile(r"\d|\w[-_./+=~]\w|^[/-]\w|^[A-Z]{2,}s?$")
BAND = (TOO_LONG, TOO_SHORT)
_LABEL = re.compile(r"^\W*(?:system|user|assistant|instruction|thread|draft)\s*:", re.I | re.M)


@dataclass(frozen=True)
class Case:
    thread: list[Message]
    target: Message
    instruction: str
    entities: list[str]


def read_log(raw: Path) -> tuple[dict[int, Message], dict[int, list[int]]]:
    """Chat lines (no joins, renames or /me) by line number, and each line's reply-to links."""
    parents: dict[int, list[int]] = {}
    for row in raw.with_name(raw.name.replace(".raw.", ".annotation.")).read_text().splitlines():
        if len(cells := row.split()) >= 2:
            parents.setdefault(int(cells[1]), []).append(int(cells[0]))
    lines = {}
    for number, row in enumerate(raw.read_text(encoding="utf-8", errors="replace").split("\n")):
        if match := _LINE.match(row):
            up = max((a for a in parents.get(number, []) if a < number), default=None)
            lines[number] = Message(str(number), match[2], match[3], match[1],
                                    None if up is None else str(up))  # fmt: skip
    return lines, parents


def conversation(t: int, p: int, lines: dict[int, Message], parents: dict[int, list[int]]
                 ) -> list[Message]:  # fmt: skip
    links: dict[int, set[int]] = {}
    for b, tops in parents.items():
        for a in tops if b < t else ():
            links.setdefault(a, set()).add(b)
            links.setdefault(b, set()).add(a)
    seen, todo = {p}, [p]
    while todo:
        for n in links.get(todo.pop(), set()) - seen:
            seen.add(n)
            todo.append(n)
    keep = [p]
    while len(keep) < MAX_THREAD and (up := lines[keep[-1]].reply_to) and int(up) in lines:
        keep.append(int(up))
    extra = [n for n in sorted(seen, reverse=True) if n in lines and n not in keep][:EXTRA]
    return [lines[n] for n in sorted([*keep, *extra][:MAX_THREAD])]


def unaddressed(text: str, nicks: set[str]) -> str:
    """The text without the nicks it opens by addressing ("nick:", "nick," or a nick)."""
    while (address := _ADDRESS.match(text)) and (address[1] in nicks or address[0][-2] in ":,"):
        text = text[address.end() :]
    return text


def entities(text: str, nicks: set[str]) -> list[str]:
    raw = unaddressed(text, nicks).split()
    found = []
    for i, word in enumerate(w.strip(".,;:!?()[]{}<>\"'`") for w in raw):
        mid = i > 0 and word.istitle() and not raw[i - 1].endswith((".", "!", "?"))
        if len(word) > 1 and word not in nicks and (_ENTITY.search(word) or mid):
            found.append(word)
    return list(dict.fromkeys(found))[:3]


def pick_threads(logs: list[Path], count: int, seed: int) -> list[Case]:
    candidates = []
    for raw in logs:
        lines, parents = read_log(raw)
        nicks = {m.author for m in lines.values()}
        for t, target in lines.items():
            p = int(target.reply_to or -1)
            if t < 1000 or p not in lines or lines[p].author == target.author:
                continue
            if len(target.text.split()) >= 4 and target.author not in ("ubotu", "ubottu"):
                candidates.append((t, p, lines, parents, entities(target.text, nicks)))
    random.Random(seed).shuffle(candidates)
    cases = []
    for i in range(count):
        if (pick := next((c for c in candidates if i % 2 == 0 or c[4]), None)) is None:
            break
        candidates.remove(pick)
        t, p, lines, parents, found = pick
        found = found if i % 2 else []
        quoted = [f'"{e}"' for e in found]
        said = ", ".join(quoted[:-1]) + " and " * (len(found) > 1) + "".join(quoted[-1:])
        instruction = f"Mention {said}." if found else ""
        cases.append(Case(conversation(t, p, lines, parents), lines[t], instruction, found))
    return cases


def _said(name: str) -> str:
    return rf"(?<![\w-]){re.escape(name)}(?![\w-])"


def perspective(text: str, user: str, others: set[str], reply: bool) -> str:
    """Why the draft does not speak as the user; empty when it does."""
    if re.search(_said(user) + r"\s*:", text):
        return f"speaks under the label '{user}:'"
    if len(user) > 2 and re.search(r"(?<!I'm )(?<!I am )(?<!this is )" + _said(user), text):
        return f"names the user {user} in the third person"
    rows = text.strip().split("\n")
    for other in sorted(others - {user}) if reply else ():
        if any(re.match(_said(other) + r"\s*:", row.strip()) for row in rows[1:]):
            return f"writes {other}'s turn"
        if re.search(r"(?:^|\n|[-\u2013\u2014~]\s*)" + _said(other) + r"\s*[.!]?\s*$", text):
            return f"signs as {other}"
    return ""


def _grams(text: str) -> set[tuple[str, ...]]:
    tokens = re.findall(r"\w+", text.lower())
    return {tuple(tokens[i : i + RUN]) for i in range(len(tokens) - RUN + 1)}


def failures(
    draft: Draft, scaffold: list[str], user: str, others: set[str], asked: str = ""
) -> dict[str, str]:
    """Check name -> why it failed, for the checks that failed. The terms the instruction
    `asked` for are no prompt wording: a draft carrying them (a long URL is 6 words and
    more) does as it was told."""
    terms = "|".join(re.escape(t) for t in sorted(required(asked), key=len, reverse=True))
    pieces = [p for part in scaffold for p in (re.split(terms, part) if terms else [part])]
    copied = _grams(draft.text) & set().union(*(_grams(piece) for piece in pieces))
    leak = "a role label" if _LABEL.search(draft.text) else ""
    out = {
        "required entities": next((f for f in draft.failed_checks if f.startswith(MISSES)), ""),
        "length band": next((f for f in draft.failed_checks if f.startswith(BAND)), ""),
        "no prompt leakage": leak or ("copies the prompt's wording" if copied else ""),
        "speaker perspective": perspective(draft.text, user, others, bool(draft.used_messages))
        or next((f for f in draft.failed_checks if f.startswith(ASSISTANT)), ""),
    }
    return {name: why for name, why in out.items() if why}


def rates(failed: list[dict[str, str]], groups: dict[str, list[int]],
          checks: tuple[str, ...] = CHECKS) -> None:  # fmt: skip
    print(f"{'adherence':<30}" + "".join(f"{g:>16}" for g in groups))
    for name in (*checks, "all checks"):
        row = ""
        for members in groups.values():
            ok = sum((not failed[i]) if name == "all checks" else name not in failed[i]
                     for i in members)  # fmt: skip
            row += f"{ok:>6}/{len(members):<3} {ok / max(len(members), 1):5.0%}"
        print(f"  {name:<28}{row}")


def show(title: str, draft: Draft, failed: dict[str, str], rows: list[str]) -> None:
    print(f"--- {title}\n" + "\n".join(f"    {row}" for row in rows))
    why = "; ".join(f"{k}: {v}" for k, v in failed.items()) or "none"
    product = "; ".join(draft.failed_checks) or "none"
    print(f"  DRAFT: {draft.text}\n  failed: {why}  (product checks: {product})")


def due_said(item: dict[str, str], text: str) -> bool:
    when, low = date.fromisoformat(item["due_date"]), text.lower()
    phrase = re.sub(r"^by\s+", "", item["due_phrase"] or "", flags=re.I).lower()
    day = re.search(rf"\b{when.day}(?:st|nd|rd|th)?\b", text)
    month = bool(day) and when.strftime("%B").lower() in low
    return bool(phrase and phrase in low) or when.strftime("%A").lower() in low or month or \
        when.isoformat() in text  # fmt: skip


def attempt(
    thread: Thread,
    request: ComposeRequest,
    generator: TextGenerator,
    meeting: Summary | None = None,
) -> Draft:
    """The product's draft; a model that wrote nothing twice counts as an empty draft that
    fails its checks (the product raises EmptyDraft for it)."""
    try:
        return draft_message(thread, request, generator=generator, meeting=meeting)
    except EmptyDraft as error:
        return Draft("", (), (), (), failed_checks=(f"empty: {error.message}",))


def replies(cases: list[Case], generator: TextGenerator, embedder: Embedder, show_k: int) -> None:
    began, drafts, failed, quoted = time.perf_counter(), [], [], []
    for number, case in enumerate(cases, start=1):
        request = ComposeRequest(instruction=case.instruction, user=case.target.author)
        drafts.append(attempt(Thread(tuple(case.thread)), request, generator))
        scaffold = [m.content for m in prompts.reply([], user=request.user, length="short",
                    instruction=request.instruction, tone="neutral")]  # fmt: skip
        speakers = {m.author for m in case.thread}
        failed.append(failures(drafts[-1], scaffold, request.user, speakers, case.instruction))
        if case.instruction:
            quoted.append(all(e.lower() in drafts[-1].text.lower() for e in case.entities))
        print(f"[{number}/{len(cases)}] failed: {', '.join(failed[-1]) or 'none'}", flush=True)
    vectors = embedder.embed([text for c, d in zip(cases, drafts, strict=True)
                              for text in (d.text, c.target.text, c.thread[-1].text)])  # fmt: skip
    draft_cos = np.sum(vectors[0::3] * vectors[1::3], axis=1)
    base_cos = np.sum(vectors[2::3] * vectors[1::3], axis=1)
    print(f"\nPART 1: reply on {len(cases)} real IRC threads, length short {LENGTH_WORDS['short']}")
    for case, draft, why in list(zip(cases, drafts, failed, strict=True))[:show_k]:
        show(f"as {case.target.author}, instruction: {case.instruction or 'none'}", draft, why,
             [f"[{m.time}] {m.author}: {m.text}" for m in case.thread])  # fmt: skip
        print(f"  REAL:  {case.target.text}")
    every = list(range(len(cases)))
    rates(failed, {"all": every, "no instruction": every[0::2], "instruction": every[1::2]})
    print(f"  product checks all passed (Draft.failed_checks empty): "
          f"{sum(not d.failed_checks for d in drafts)}/{len(drafts)}")  # fmt: skip
    print(f"  all the instruction's quoted entities in the draft: {sum(quoted)}/{len(quoted)}")
    beats = draft_cos > base_cos
    print(f"similarity to the real reply (cosine): draft {draft_cos.mean():.3f}, baseline "
          f"(thread's last message) {base_cos.mean():.3f}; draft beats baseline "
          f"{int(beats.sum())}/{len(cases)} = {beats.mean():.0%}")  # fmt: skip
    spent = time.perf_counter() - began
    print(f"part 1 time: {spent:.0f} s ({spent / max(len(cases), 1):.1f} s per thread)")


def followups(generator: TextGenerator, embedder: Embedder, show_k: int) -> None:
    began, scripted = time.perf_counter(), ROOT / "examples" / "scripted"
    paths = [*sorted(scripted.glob("*.json")), *sorted(scripted.glob("heldout*/*.json"))]
    rows, failed, owners, dues, by_items, copied = [], [], [0, 0], [0, 0], [], []
    print(f"\nPART 2: followup on {len(paths)} scripted meetings (extractive summary), length "
          f"medium {LENGTH_WORDS['medium']}")  # fmt: skip
    for number, path in enumerate(paths):
        script = json.loads(path.read_text())
        day = SummaryRequest(meeting_date=date.fromisoformat(script["date"]))
        summary = summarize_meeting(text_transcript(script)[0], embedder=embedder, request=day)
        user = script["turns"][0]["speaker"]
        request = ComposeRequest(FOLLOWUP, mode="followup", length="medium", user=user)
        draft = attempt(Thread(()), request, generator, summary)
        scaffold = [m.content for m in prompts.followup("", user=user, instruction=FOLLOWUP,
                    tone="neutral", length="medium")]  # fmt: skip
        failed.append(failures(draft, scaffold, user, {t["speaker"] for t in script["turns"]}))
        items = script["expected"]["action_items"]
        named = {i["owner"] for i in items} - {user}
        hit = sum(bool(re.search(_said(n), draft.text)) for n in named)
        dated = [i for i in items if i["due_date"]]
        said = sum(due_said(i, draft.text) for i in dated)
        owners = [owners[0] + hit, owners[1] + len(named)]
        dues = [dues[0] + said, dues[1] + len(dated)]
        name = str(path.relative_to(scripted))
        by_items.append(draft.written_by == FROM_ITEMS)
        notes = followup.notes(summary, user=user, length="medium")[0]
        mine = _grams(draft.text)
        copied.append(len(mine & _grams(notes)) / max(len(mine), 1))
        rows.append(f"  {name:<30} {'items' if by_items[-1] else 'model':>6} "
                    f"{len(draft.text.split()):>5} {hit:>4}/{len(named):<3}"
                    f"{said:>4}/{len(dated):<3}{copied[-1]:>7.0%} "
                    f"{', '.join(failed[-1]) or 'none'}")  # fmt: skip
        if number < show_k:
            show(f"{name} as {user}; expected items:", draft, failed[-1],
                 [f"{i['owner']}: {i['task']} ({i['due_phrase']})" for i in items])  # fmt: skip
    print(f"  {'meeting':<30} {'by':>6} {'words':>5} {'owners':>8}{'dues':>8}{'copied':>7} "
          "failed checks")  # fmt: skip
    print("\n".join(rows))
    rates(failed, {"all": list(range(len(paths)))})
    print(f"  written by the model: {by_items.count(False)}/{len(paths)}; from the meeting's "
          f"items after the model's drafts failed: {sum(by_items)}/{len(paths)}")  # fmt: skip
    model = [c for c, items in zip(copied, by_items, strict=True) if not items]
    print(f"  copied: share of a draft's 6-word runs found in the notes the model was given "
          f"(the model's drafts: {np.mean(model) if model else 0:.0%} on average)")  # fmt: skip
    print(f"  owners named: {owners[0]}/{owners[1]} = {owners[0] / max(owners[1], 1):.0%}")
    print(f"  due dates mentioned: {dues[0]}/{dues[1]} = {dues[0] / max(dues[1], 1):.0%}")
    print(f"part 2 time: {time.perf_counter() - began:.0f} s")


_SHORTHAND = (
    r"u|ur|r|pls|plz|thx|thanx|ty|np|lol|rofl|imo|imho|btw|afaik|iirc|idk|dunno|gonna|wanna|"
    r"gotta|ya|yea|yeah|yep|nope|k|ok|okay|cuz|cos|tho|prolly|asap|fyi|brb|omg|heh|hehe|hmm|"
    r"dont|doesnt|cant|wont|isnt|didnt|wasnt|arent|havent|im|ive|youre|thats|whats|theres"
)
_CHAT = {
    "lowercase start": re.compile(r"^[^A-Za-z]*[a-z]"),
    "lowercase i": re.compile(r"\bi\b(?:'\w+)?"),
    "no closing punctuation": re.compile(r"[^.!?)\]\"']\s*$"),
    "shorthand": re.compile(rf"(?i)(?<![\w'-])(?:{_SHORTHAND})(?![\w'-])"),
    "emoticon or run": re.compile(r"(?<!\w)[:;]-?[()DPp/|](?![\w/])|\.\.\.|[!?]{2,}|><"),
}


@dataclass(frozen=True)
class Line:
    message: Message
    facts: list[str]
    markers: list[str]


def chat_markers(text: str) -> list[str]:
    """The chat markers in a message, one name per kind found."""
    return [name for name, pattern in _CHAT.items() if pattern.search(text)]


def pick_lines(logs: list[Path], count: int, seed: int) -> list[Line]:
    found = []
    for raw in logs:
        lines, _ = read_log(raw)
        nicks = {m.author for m in lines.values()}
        for number, line in lines.items():
            body = unaddressed(line.text, nicks)
            if number < 1000 or line.author in ("ubotu", "ubottu") or not 5 <= words(body) <= 30:
                continue
            if (kept := facts(body)) and (marks := chat_markers(body)):
                found.append(Line(line, kept, marks))
    random.Random(seed).shuffle(found)
    return found[:count]


REWRITE_CHECKS = ("facts kept", "wording kept", "tone changed", "length band",
                  "no prompt leakage", "speaker perspective")  # fmt: skip


def rewrites(lines: list[Line], generator: TextGenerator, embedder: Embedder, show_k: int) -> None:
    began, drafts, failed, after = time.perf_counter(), [], [], []
    nicks = {line.message.author for line in lines}
    print(f"\nPART 3: rewrite, formal and short, of {len(lines)} real IRC lines")
    for number, line in enumerate(lines, start=1):
        user = line.message.author
        request = ComposeRequest(line.message.text, mode="rewrite", tone="formal", user=user)
        drafts.append(attempt(Thread(()), request, generator))
        scaffold = [
            m.content for m in prompts.rewrite("", user=user, tone="formal", length="short")
        ]
        why = failures(drafts[-1], scaffold, user, set())
        why.pop("required entities", None)  # the product's own; facts kept is measured here
        lost = [f for f in line.facts if f.lower() not in drafts[-1].text.lower()]
        after.append(chat_markers(unaddressed(drafts[-1].text, nicks)))
        if lost:
            why["facts kept"] = f"lost {', '.join(lost)}"
        if dropped := next((f for f in drafts[-1].failed_checks if f.startswith(DROPS)), ""):
            why["wording kept"] = dropped  # more than half its longer words: an answer, not it
        if len(after[-1]) >= len(line.markers):
            why["tone changed"] = f"chat markers left: {', '.join(after[-1])}"
        failed.append(why)
        print(f"[{number}/{len(lines)}] failed: {', '.join(why) or 'none'}", flush=True)
    vectors = embedder.embed([t for line, d in zip(lines, drafts, strict=True)
                              for t in (line.message.text, d.text)])  # fmt: skip
    cosine = np.sum(vectors[0::2] * vectors[1::2], axis=1)
    for line, draft, why in list(zip(lines, drafts, failed, strict=True))[:show_k]:
        show(f"as {line.message.author}; facts {line.facts}; chat markers {line.markers}", draft,
             why, [line.message.text])  # fmt: skip
    rates(failed, {"all": list(range(len(lines)))}, REWRITE_CHECKS)
    print(f"  product checks all passed (Draft.failed_checks empty): "
          f"{sum(not d.failed_checks for d in drafts)}/{len(drafts)}")  # fmt: skip
    n = max(len(lines), 1)
    print(f"  chat markers per message: line {sum(len(x.markers) for x in lines) / n:.2f}, "
          f"rewrite {sum(map(len, after)) / n:.2f}; rewrites with none left "
          f"{after.count([])}/{len(lines)}")  # fmt: skip
    print(f"  cosine of the rewrite to the line (meaning kept): {cosine.mean():.3f}")
    print(f"part 3 time: {time.perf_counter() - began:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--llm", default=None, help="LLM name or folder (default: settings)")
    parser.add_argument("--threads", type=int, default=40, help="IRC threads to draft for")
    parser.add_argument("--seed", type=int, default=0, help="which threads are drawn")
    parser.add_argument("--show", type=int, default=3, help="drafts printed per part")
    parser.add_argument("--rewrites", type=int, default=20, help="IRC lines to rewrite")
    parser.add_argument("--data", type=Path, default=DATA, help="the shared data folder")
    parser.add_argument("--parts", default="reply,followup,rewrite", help="which to run")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    logs = sorted((args.data / "chat_irc" / "logs").glob("*.raw.txt"))
    if not logs:
        print(f"no IRC logs in {args.data / 'chat_irc' / 'logs'}: this evaluation needs "
              "../shared/data/chat_irc (see its SOURCE.md)", file=sys.stderr)  # fmt: skip
        return 2
    began, settings = time.perf_counter(), Settings()
    generator, embedder = build_generator(settings, model=args.llm), build_embedder(settings)
    print(f"model {generator.name}, embedder {embedder.name}, seed {args.seed}")
    if "reply" in parts:
        replies(pick_threads(logs, args.threads, args.seed), generator, embedder, args.show)
    if "followup" in parts:
        followups(generator, embedder, args.show)
    if "rewrite" in parts:
        rewrites(pick_lines(logs, args.rewrites, args.seed), generator, embedder, args.show)
    print(f"\nwall time {time.perf_counter() - began:.0f} s; model {generator.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
