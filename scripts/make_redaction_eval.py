"""Writes the frozen redaction evaluation set, `scripts/data/redaction_eval.jsonl`.

Deterministic (a fixed seed, no clock, no network) and built only from this file's own
name lists and templates, so it can be re-made and compared byte for byte: the eval script
(`scripts/eval_redaction.py`) refuses a file whose SHA-256 is not the frozen one.

Each line: {"id", "split" (dev | test), "kind" (person | email | phone | id | negative),
"style" (cased | lower | turns), "text", "spans": [{"start", "end", "label"}]}, where a
label is PERSON, EMAIL, PHONE or ID_NUMBER (must be redacted) or KEEP (must stay: a date,
an amount, a product, a dictionary word such as "Will" or "May" used as a word).

None of these names is on any roster the eval uses: they test what the model finds alone.

    .venv/bin/python scripts/make_redaction_eval.py    # rewrites the file
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from pathlib import Path

OUT = Path(__file__).parent / "data" / "redaction_eval.jsonl"
PER_KIND = 320  # at least 300 items per class
SEED = 2121

# First and family names by origin, written for this set (not taken from any list the
# redactor could use).
NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "english": (
        (
            "Oliver",
            "Harriet",
            "Graham",
            "Imogen",
            "Duncan",
            "Philippa",
            "Nigel",
            "Beatrice",
            "Rupert",
            "Georgina",
            "Clive",
            "Tamsin",
            "Alistair",
            "Fiona",
            "Stuart",
            "Gemma",
        ),
        (
            "Whitfield",
            "Ashworth",
            "Pemberton",
            "Hargreaves",
            "Thornton",
            "Caldwell",
            "Blackwood",
            "Fairbanks",
            "Wetherby",
            "Lockhart",
            "Middleton",
            "Ramsbottom",
        ),
    ),
    "spanish": (
        (
            "Alejandro",
            "Lucía",
            "Santiago",
            "Valentina",
            "Joaquín",
            "Ximena",
            "Rodrigo",
            "Camila",
            "Esteban",
            "Marisol",
            "Ignacio",
            "Paloma",
            "Gonzalo",
            "Itziar",
        ),
        (
            "Fernández",
            "Gutiérrez",
            "Morales",
            "Castillo",
            "Herrera",
            "Domínguez",
            "Villanueva",
            "Echeverría",
            "Quintana",
            "Salazar",
            "Ibarra",
            "Mendoza",
        ),
    ),
    "chinese": (
        (
            "Wei",
            "Xiaoling",
            "Jianguo",
            "Meiling",
            "Zhiwei",
            "Yuting",
            "Haoran",
            "Shufen",
            "Qiang",
            "Xinyi",
            "Guoqing",
            "Lihua",
            "Jun",
            "Yan",
        ),
        (
            "Zhang",
            "Wang",
            "Liu",
            "Chen",
            "Huang",
            "Zhou",
            "Xu",
            "Guo",
            "Tang",
            "Deng",
            "Feng",
            "Cao",
        ),
    ),
    "indian": (
        (
            "Priya",
            "Arjun",
            "Ananya",
            "Vikram",
            "Deepika",
            "Rohan",
            "Kavitha",
            "Sandeep",
            "Lakshmi",
            "Aditya",
            "Nandini",
            "Harish",
            "Shreya",
            "Venkatesh",
        ),
        (
            "Raghunathan",
            "Iyer",
            "Chatterjee",
            "Deshpande",
            "Kulkarni",
            "Bhattacharya",
            "Nair",
            "Reddy",
            "Subramanian",
            "Malhotra",
            "Joshi",
            "Venkataraman",
        ),
    ),
    "arabic": (
        (
            "Ahmed",
            "Fatima",
            "Omar",
            "Layla",
            "Khalid",
            "Yasmin",
            "Tariq",
            "Noor",
            "Hamza",
            "Samira",
            "Yousef",
            "Rania",
            "Bilal",
            "Huda",
        ),
        (
            "Al-Rashid",
            "Haddad",
            "Nasser",
            "Khalil",
            "Mansour",
            "Saleh",
            "El-Amin",
            "Hamdan",
            "Barakat",
            "Qureshi",
            "Farouk",
            "Aziz",
        ),
    ),
    "nigerian": (
        (
            "Chinedu",
            "Ngozi",
            "Oluwaseun",
            "Funmilayo",
            "Emeka",
            "Adaeze",
            "Babatunde",
            "Chiamaka",
            "Obinna",
            "Yetunde",
            "Ikenna",
            "Folake",
            "Tunde",
            "Amaka",
        ),
        (
            "Okonkwo",
            "Adeyemi",
            "Eze",
            "Nwosu",
            "Balogun",
            "Okafor",
            "Obi",
            "Adebayo",
            "Onyekachi",
            "Oyelaran",
            "Ogunleye",
            "Chukwu",
        ),
    ),
    "slavic": (
        (
            "Dmitri",
            "Katarzyna",
            "Bogdan",
            "Svetlana",
            "Miroslav",
            "Agnieszka",
            "Yaroslav",
            "Milena",
            "Stanislav",
            "Ludmila",
            "Radek",
            "Zofia",
            "Vesna",
            "Goran",
        ),
        (
            "Kowalczyk",
            "Petrović",
            "Novak",
            "Ivanov",
            "Wiśniewski",
            "Horvat",
            "Sokolov",
            "Dvořák",
            "Kuznetsova",
            "Zieliński",
            "Marković",
            "Volkov",
        ),
    ),
    "other": (
        (
            "Sione",
            "Aroha",
            "Kenji",
            "Hyun-woo",
            "Thanh",
            "Linh",
            "Ayşe",
            "Mehmet",
            "Siobhan",
            "Niamh",
            "Bjørn",
            "Sigrid",
            "Tendai",
            "Kwame",
        ),
        (
            "Tanaka",
            "Park",
            "Tran",
            "Yılmaz",  # noqa: RUF001 (the Turkish dotless i is the point)
            "O'Sullivan",
            "Lindqvist",
            "Mensah",
            "Moyo",
            "Fonoti",
            "Kowhai",
            "Demir",
            "Haugen",
        ),
    ),
}

# {name} is the person's name as the style writes it; a template holds one or two names.
CASED = (
    "{name} will send the slides after lunch.",
    "I talked to {name} yesterday and she agreed with the plan.",
    "Can you loop in {name} from finance on this?",
    "Action item: {name} to review the vendor contract.",
    "Thanks, {name}, that was really helpful.",
    "So {name} said the numbers look fine for the second quarter.",
    "{name} and {name2} are going to pair on the migration.",
    "We should ask {name} before we change the schedule.",
    "According to {name}, the customer wants a demo next week.",
    "Let's have {name} present the roadmap on Thursday.",
    "- {name}: follow up with legal about the renewal",
    "I'll forward the notes to {name} and {name2}.",
    "{name} mentioned the budget might be cut.",
    "Did anyone hear back from {name}?",
)
LOWER = (
    "yeah so um {name} was saying the vendor is late again",
    "i'll ping {name} about it after the call",
    "uh {name} can you share your screen",
    "okay thanks {name}",
    "so i think {name} has the latest numbers",
    "um we could ask {name} and {name2} to take that",
    "right and then {name} said no to the discount",
    "yeah {name} knows the client pretty well",
)
TURNS = (
    "Speaker 1: um did {name} reply?\nSpeaker 2: not yet, I'll nudge her.",
    "Speaker 2: who owns the budget?\nSpeaker 1: I think it's {name} now.",
    "Speaker 3: okay so {name} is out next week\nSpeaker 1: right, {name2} covers.",
    "Speaker 1: can we get {name} on the call\nSpeaker 2: yeah I'll invite him.",
)

EMAIL_DOMAINS = (
    "initech.example",
    "corp.acme.internal",
    "hooli.corp",
    "printer.office.local",
    "mail.globex.example",
    "dev.umbrella.internal",
    "wayne.corp",
    "lab.local",
    "example.co.uk",
    "stark-industries.io",
    "cyberdyne.dev",
    "fastmail.com",
)
EMAIL_TEMPLATES = (
    "Send the draft to {email} before Friday.",
    "my email is {email} if you need anything",
    "um just email me at {email} okay",
    "Contact: {email}",
    "cc {email} and the rest of the team",
    "Please write to <{email}> with questions.",
    "The invite went out from ({email}) this morning.",
    "Speaker 2: it's {email}, all lowercase.",
    "Reply-to is {email}; the old one bounces.",
)
PHONE_FORMATS = (
    "+1 415 555 {d4}",
    "(212) 555-{d4}",
    "646-555-{d4}",
    "312.555.{d4}",
    "+44 20 7946 {d4}",
    "+44 7700 900{d3}",
    "+49 30 9018{d4}",
    "+91 98765 4{d4}",
    "+234 803 123 {d4}",
    "+86 138 0013 {d4}",
    "+33 1 42 68 {d2} {d2}",
    "+61 2 9374 {d4}",
    "1-800-555-{d4}",
    "+1 (617) 555-{d4}",
)
PHONE_TEMPLATES = (
    "You can reach me on {phone} after six.",
    "call me at {phone} okay",
    "um my number is {phone}",
    "Her mobile is {phone}, but she prefers email.",
    "Speaker 1: what's the dial-in?\nSpeaker 2: {phone}, then the code.",
    "Phone: {phone}",
    "text {phone} when you land",
)
ID_TEMPLATES = (
    ("SSN {ssn}", "ssn"),
    ("his social security number is {ssn}", "ssn"),
    ("Her SSN: {ssn} (on the form).", "ssn"),
    ("um the ssn is {ssn} I think", "ssn"),
    ("Employee ID {emp} starts on Monday.", "emp"),
    ("my employee id is {emp}", "emp"),
    ("Badge number {emp} was deactivated.", "emp"),
    ("Bank account {acct} is the one for payroll.", "acct"),
    ("the account number is {acct}", "acct"),
    ("Wire it to account no. {acct} please.", "acct"),
)
NEGATIVES = (
    "The report is due {date} and the budget is {amount}.",
    "Will you send the deck by {date}?",
    "May we move the review to {date}?",
    "Mark the ticket as done once {product} ships.",
    "Bill the client {amount} for the extra work.",
    "We will upgrade to {product} by {date}.",
    "the renewal costs {amount} a year, um, starting {date}",
    "Release {version} goes out {date}; {product} follows.",
    "Speaker 1: so {product} is down again\nSpeaker 2: yeah, since {date}.",
    "Grant approval came through: {amount} for {product}.",
    "Due {date}: migrate the {product} dashboards.",
    "It may rain, so will we still meet on {date}?",
)
DATES = (
    "2026-12-18",
    "March 3",
    "by March 3",
    "next Friday",
    "12/18/2026",
    "Q3 2026",
    "18 December",
    "2027-01-05",
    "June 30th",
    "the 14th",
)
AMOUNTS = (
    "$12,500",
    "€3,400",
    "300 euros",
    "1.2 million dollars",
    "£75,000",
    "$99.99",
    "4,500 USD",
    "twenty thousand dollars",
)
PRODUCTS = (
    "Jira",
    "Salesforce",
    "Kubernetes 1.31",
    "Windows 11",
    "PostgreSQL 17",
    "the iPhone 16",
    "Slack",
    "Tableau",
    "SAP S/4HANA",
    "Zoom Rooms",
)
VERSIONS = ("2.6.31", "v4.1.0", "1.0.3-rc2", "3.12")
DIGITS = "0123456789"


def main() -> None:
    rng = random.Random(SEED)
    items = [
        *_people(rng),
        *_emails(rng),
        *_phones(rng),
        *_ids(rng),
        *_negatives(rng),
    ]
    lines = [json.dumps(item, ensure_ascii=False, sort_keys=True) for item in items]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    digest = hashlib.sha256(OUT.read_bytes()).hexdigest()
    print(f"{len(items)} items -> {OUT} sha256 {digest}")


def _fill(template: str, values: dict[str, tuple[str, str]]) -> tuple[str, list[dict[str, object]]]:
    """The template with each {field} replaced by its value, and the labelled spans."""
    text, spans, at = "", [], 0
    for match in re.finditer(r"\{(\w+)\}", template):
        text += template[at : match.start()]
        value, label = values[match.group(1)]
        spans.append({"start": len(text), "end": len(text) + len(value), "label": label})
        text += value
        at = match.end()
    return text + template[at:], spans


def _item(
    kind: str, n: int, style: str, text: str, spans: list[dict[str, object]]
) -> dict[str, object]:
    ident = f"{kind}-{n:04d}"
    # Half dev, half test, by a hash of the id: stable whatever order items are made in.
    split = "dev" if hashlib.sha256(ident.encode()).digest()[0] % 2 == 0 else "test"
    return {"id": ident, "split": split, "kind": kind, "style": style, "text": text,
            "spans": spans}  # fmt: skip


def _name(rng: random.Random, *, full: bool, lower: bool) -> str:
    firsts, lasts = NAMES[rng.choice(sorted(NAMES))]
    name = f"{rng.choice(firsts)} {rng.choice(lasts)}" if full else rng.choice(firsts)
    return name.lower() if lower else name


def _people(rng: random.Random) -> list[dict[str, object]]:
    items = []
    for n in range(PER_KIND):
        style = rng.choices(("cased", "lower", "turns"), weights=(5, 3, 2))[0]
        template = rng.choice({"cased": CASED, "lower": LOWER, "turns": TURNS}[style])
        lower = style == "lower"
        values = {
            "name": (_name(rng, full=rng.random() < 0.6, lower=lower), "PERSON"),
            "name2": (_name(rng, full=rng.random() < 0.5, lower=lower), "PERSON"),
        }
        items.append(_item("person", n, style, *_fill(template, values)))
    return items


def _emails(rng: random.Random) -> list[dict[str, object]]:
    items = []
    for n in range(PER_KIND):
        first = _ascii(_name(rng, full=False, lower=True))
        last = _ascii(rng.choice(NAMES[rng.choice(sorted(NAMES))][1]).lower())
        local = rng.choice((f"{first}.{last}", f"{first[0]}{last}", first, f"{first}_{last}",
                            f"{last}{rng.randint(1, 99)}", "ops-team", "billing"))  # fmt: skip
        email = f"{local}@{rng.choice(EMAIL_DOMAINS)}"
        template = rng.choice(EMAIL_TEMPLATES)
        style = "lower" if template[0].islower() else "cased"
        items.append(_item("email", n, style, *_fill(template, {"email": (email, "EMAIL")})))
    return items


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice(DIGITS) for _ in range(count))


def _phones(rng: random.Random) -> list[dict[str, object]]:
    items = []
    for n in range(PER_KIND):
        shape = rng.choice(PHONE_FORMATS)
        phone = shape.format(d4=_digits(rng, 4), d3=_digits(rng, 3), d2=_digits(rng, 2))
        template = rng.choice(PHONE_TEMPLATES)
        style = "turns" if "Speaker" in template else "cased"
        items.append(_item("phone", n, style, *_fill(template, {"phone": (phone, "PHONE")})))
    return items


def _ssn(rng: random.Random) -> str:
    area = rng.choice([a for a in range(1, 900) if a != 666])
    sep = rng.choice(("-", "-", " "))
    return f"{area:03d}{sep}{rng.randint(1, 99):02d}{sep}{rng.randint(1, 9999):04d}"


def _employee_id(rng: random.Random) -> str:
    return rng.choice((
        f"EMP-{_digits(rng, 6)}", f"E{_digits(rng, 6)}", f"EID {_digits(rng, 5)}",
        f"{rng.choice('ABCDEFGH')}{rng.choice('KLMNPRST')}-{_digits(rng, 5)}",
        f"{_digits(rng, 7)}",
    ))  # fmt: skip


def _account(rng: random.Random) -> str:
    return rng.choice((
        _digits(rng, 10), f"{_digits(rng, 4)}-{_digits(rng, 4)}-{_digits(rng, 4)}",
        f"{_digits(rng, 3)} {_digits(rng, 6)} {_digits(rng, 2)}", _digits(rng, 12),
    ))  # fmt: skip


def _ids(rng: random.Random) -> list[dict[str, object]]:
    items = []
    for n in range(PER_KIND):
        template, shape = rng.choice(ID_TEMPLATES)
        value = {"ssn": _ssn, "emp": _employee_id, "acct": _account}[shape](rng)
        style = "lower" if template[0].islower() else "cased"
        filled = _fill(template, {shape: (value, "ID_NUMBER")})
        items.append(_item("id", n, style, *filled))
    return items


def _negatives(rng: random.Random) -> list[dict[str, object]]:
    items = []
    for n in range(PER_KIND):
        template = rng.choice(NEGATIVES)
        values = {
            "date": (rng.choice(DATES), "KEEP"),
            "amount": (rng.choice(AMOUNTS), "KEEP"),
            "product": (rng.choice(PRODUCTS), "KEEP"),
            "version": (rng.choice(VERSIONS), "KEEP"),
        }
        text, spans = _fill(template, values)
        # The dictionary words used as words are content too: they must stay.
        for word in re.finditer(r"\b(Will|May|Mark|Bill|Grant|will|may)\b", text):
            spans.append({"start": word.start(), "end": word.end(), "label": "KEEP"})
        style = "turns" if "Speaker" in template else "cased"
        items.append(_item("negative", n, style, text, sorted(spans, key=lambda s: s["start"])))
    return items


def _ascii(name: str) -> str:
    """A name as an email local part would spell it."""
    plain = name.translate(str.maketrans("áéíóúñçšžćčřěýłśńźżğışåøæ", "aeiouncszccreylsnzzgisaoa"))
    return re.sub(r"[^a-z]", "", plain)


if __name__ == "__main__":
    main()
