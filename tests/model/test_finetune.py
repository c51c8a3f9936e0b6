"""Fine-tuning on a training export (issue 9): a tiny random Llama trained for a few steps
on a tiny real export through `minutekeeper train`, lineage written and listed, revoked,
withdrawn-during-training, expired, altered and empty exports refused, the before/after
evaluation through `scripts/eval_finetune.py`, and a model retired with `models remove`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from minutekeeper.consent.capture import Offer, capture_offer
from minutekeeper.consent.domain import ConsentState, Principal, Role
from minutekeeper.consent.exports.catalog import get_export
from minutekeeper.consent.exports.create import create_export
from minutekeeper.consent.exports.lineage import ExportNotUsable, models_trained_on, training_set
from minutekeeper.consent.redaction import Redactor
from minutekeeper.consent.service import ConsentService
from minutekeeper.consent.store import AuditEntryRecord, ModelLineageRecord
from minutekeeper.core.db import create_db_engine, migrate, read_transaction
from minutekeeper.core.settings import Settings
from minutekeeper.features.finetune import TrainRequest, split_heldout, train_on_export
from minutekeeper.models.errors import UnknownModel
from minutekeeper.models.finetune import IGNORE, TrainingConfig, encode_chat, finetune, mean_loss
from minutekeeper.models.llm import end_token_ids
from minutekeeper.models.registry import build_generator
from minutekeeper.models.trained import find_trained, list_trained
from tests.conftest import World, make_world
from tests.integration.test_export import summary_offer
from tests.model.tiny_llm import TEMPLATE, WORDS, build_tokenizer, tiny_llama

MINUTEKEEPER = str(Path(sys.executable).parent / "minutekeeper")
ROOT = Path(__file__).resolve().parents[2]
SAID = (
    "the meeting starts at nine and ends at ten",
    "alice will write the notes bob reviews the budget",
    "we agreed to ship the release on friday",
    "carol asks about risks",
    "the meeting ends at ten",
    "bob reviews the budget on friday",
)


@dataclass
class Install:
    data_dir: Path
    settings: Settings
    service: ConsentService
    world: World
    alice: Principal
    bob: Principal
    base: Path


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINUTEKEEPER_")}
    return env | {"MINUTEKEEPER_LLM_THREADS": "1"}


def mk(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MINUTEKEEPER, "--data-dir", str(data_dir), *args],
        capture_output=True, text=True, timeout=300, env=clean_env(), check=False,
    )  # fmt: skip


def offer(people: tuple[str, ...], said: str) -> Offer:
    """A meeting summary in the tiny model's words (other words are one unknown token)."""
    return summary_offer(*people, said=said, summary="summary : " + " ".join(said.split()[:4]))


@pytest.fixture
def install(tmp_path: Path, redactor: Redactor) -> Install:
    """A local install with one published export of six meeting summaries: Alice spoke in
    all of them, Bob in the last three; Dave consented but never spoke."""
    settings = Settings(data_dir=tmp_path / "data")
    engine = create_db_engine(settings)
    migrate(engine)
    service = ConsentService.from_settings(engine, settings)  # the real clock, as the CLI's
    world = make_world(service, name=settings.local_tenant)
    alice, bob, dave = world.member("Alice"), world.member("Bob"), world.member("Dave")
    for person in (alice, bob, dave):
        world.give(person)
    for n, said in enumerate(SAID):
        people = (alice.subject_id, bob.subject_id) if n >= 3 else (alice.subject_id,)
        done = capture_offer(service, redactor, world.tenant_id, offer(people, said))
        assert done.candidate_id is not None, done.excluded
    info = create_export(engine, service.writer, world.tenant_id, requested_by="ml",
                         exports_dir=settings.resolved_export_dir())  # fmt: skip
    assert info.status == "active" and info.counts is not None
    assert info.counts["included"] == len(SAID)
    base = tiny_llama(tmp_path / "tiny", chat_template=TEMPLATE, context=128)
    return Install(tmp_path / "data", settings, service, world, alice, bob, base)


def lineage_rows(settings: Settings) -> int:
    engine = create_db_engine(settings)
    with read_transaction(engine) as conn:
        count = conn.execute(select(func.count()).select_from(ModelLineageRecord)).scalar_one()
    engine.dispose()
    return int(count)


def test_train_lowers_the_loss_registers_the_model_and_lists_its_lineage(
    install: Install,
) -> None:
    trained = mk(install.data_dir, "train", "v1", "--base", str(install.base), "--name",
                 "tiny-ft", "--max-steps", "12", "--learning-rate", "0.01", "--batch-size",
                 "2", "--heldout", "0.2", "--json")  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    report = json.loads(trained.stdout)
    assert report["steps"] == 12 and report["examples"] == 5 and report["heldout"] == 1
    assert report["train_loss_after"] < report["train_loss_before"] * 0.8
    assert report["converted"] and report["conversion_error"] is None

    # Registered: --llm selects it by id, on both backends, and `models list` shows it.
    folder = find_trained(install.settings.resolved_model_cache_dir(), "tiny-ft")
    assert folder is not None and (folder / "LICENSE").is_file()
    (meta,) = list_trained(install.settings.resolved_model_cache_dir())
    assert meta["export_version"] == 1 and len(meta["heldout_record_ids"]) == 1
    for backend in ("ctranslate2", "transformers"):
        generator = build_generator(install.settings, model="tiny-ft", backend=backend)
        assert generator.generate("the meeting", max_new_tokens=3).completion_tokens >= 1
    assert "tiny-ft" in mk(install.data_dir, "models", "list").stdout

    # Lineage: model -> export id, version, manifest sha256, ledger position.
    info = get_export(install.service.engine, install.world.tenant_id, "v1")
    listed = mk(install.data_dir, "models", "lineage", "Bob", "--json")
    assert listed.returncode == 0, listed.stderr
    (row,) = json.loads(listed.stdout)["models"]
    assert row["model_id"] == "tiny-ft" and row["subject_records"] == 3
    assert row["trained_on_export_id"] == info.id
    assert row["manifest_sha256"] == info.manifest_sha256
    assert row["ledger_seq"] == info.ledger_seq and row["registered_here"] is True
    alice = mk(install.data_dir, "models", "lineage", "Alice").stdout
    assert "tiny-ft" in alice and "6 record(s) of export v1 (active)" in alice
    nobody = mk(install.data_dir, "models", "lineage", "Dave")
    assert (
        nobody.returncode == 0
        and "no model was trained on an export holding the words of Dave" in nobody.stdout
    )
    assert mk(install.data_dir, "audit", "verify").returncode == 0

    again = mk(install.data_dir, "train", "v1", "--base", str(install.base), "--name", "tiny-ft")
    assert again.returncode == 1 and "'tiny-ft' already exists" in again.stderr

    # Bob withdraws: the export is revoked, the lineage still names the model, and a model
    # fine-tuned from it on a later export without Bob is listed through it.
    engine, tenant = install.service.engine, install.world.tenant_id
    install.service.record(install.bob, ConsentState.WITHDRAWN, via="test")
    (hit,) = models_trained_on(engine, tenant, install.bob.subject_id)
    assert hit.export_status == "revoked" and (hit.records, hit.withdrawn) == (3, 3)
    later = create_export(
        engine,
        install.service.writer,
        tenant,
        requested_by="ml",
        exports_dir=install.settings.resolved_export_dir(),
        supersedes=info.id,
    )
    exporter = install.service.local_principal(
        tenant_name=install.settings.local_tenant, user_name="ml", role=Role.ML_EXPORTER
    )
    train_on_export(install.service, install.settings, exporter,
                    TrainRequest(str(later.version), base_model="tiny-ft", model_id="tiny-ft2",
                                 config=TrainingConfig(max_steps=1)))  # fmt: skip
    by_bob = {
        h.lineage.model_id: h for h in models_trained_on(engine, tenant, install.bob.subject_id)
    }
    assert by_bob["tiny-ft2"].through == "tiny-ft" and by_bob["tiny-ft2"].export_version == 1
    assert by_bob["tiny-ft2"].lineage.export_version == later.version == 2
    by_alice = models_trained_on(engine, tenant, install.alice.subject_id)
    assert [(h.lineage.model_id, h.through, h.records) for h in by_alice] == [
        ("tiny-ft", None, 6), ("tiny-ft2", None, 3)]  # fmt: skip

    # Without the export folders the database's record -> contributor rows still tell.
    shutil.rmtree(install.settings.resolved_export_dir())
    assert [h.records for h in models_trained_on(engine, tenant, install.alice.subject_id)] == [
        6, 3]  # fmt: skip


def test_a_revoked_export_is_refused_with_a_clear_error(install: Install) -> None:
    revoked = mk(install.data_dir, "export", "revoke", "v1", "--reason", "legal hold")
    assert revoked.returncode == 0, revoked.stderr
    refused = mk(install.data_dir, "train", "v1", "--base", str(install.base), "--max-steps", "1")
    assert refused.returncode == 1
    assert "export v1" in refused.stderr and "is revoked (legal hold)" in refused.stderr
    assert "Traceback" not in refused.stderr
    script = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "finetune.py"), "v1", "--base", str(install.base)],
        capture_output=True, text=True, timeout=300, check=False,
        env={**clean_env(), "MINUTEKEEPER_DATA_DIR": str(install.data_dir)},
    )  # fmt: skip
    assert script.returncode == 1 and "is revoked (legal hold)" in script.stderr
    assert list_trained(install.settings.resolved_model_cache_dir()) == []
    assert lineage_rows(install.settings) == 0


def test_a_withdrawal_during_training_registers_nothing(install: Install) -> None:
    def withdraw_at_first_step(step: int, steps: int, loss: float) -> None:
        if step == 1:
            install.service.record(install.bob, ConsentState.WITHDRAWN, via="test")

    exporter = install.service.local_principal(
        tenant_name=install.settings.local_tenant, user_name="ml", role=Role.ML_EXPORTER
    )
    request = TrainRequest("v1", base_model=str(install.base), model_id="tiny-late",
                           config=TrainingConfig(max_steps=2, batch_size=2))  # fmt: skip
    with pytest.raises(ExportNotUsable, match="revoked while the model trained"):
        train_on_export(install.service, install.settings, exporter, request,
                        on_step=withdraw_at_first_step)  # fmt: skip
    cache = install.settings.resolved_model_cache_dir()
    assert find_trained(cache, "tiny-late") is None
    assert [p.name for p in (cache / "trained").iterdir()] == []  # no staging left behind
    assert lineage_rows(install.settings) == 0


def test_expired_altered_and_empty_exports_are_refused(install: Install) -> None:
    engine, tenant = install.service.engine, install.world.tenant_id
    now = install.service.clock()
    assert len(training_set(engine, tenant, "v1", now=now).examples) == len(SAID)
    with pytest.raises(ExportNotUsable, match=r"no usable record left: 6 expired"):
        training_set(engine, tenant, "v1", now=now + timedelta(days=3650))
    data = Path(get_export(engine, tenant, "v1").path) / "data" / "train-00000.parquet"
    data.write_bytes(data.read_bytes() + b"\0")
    with pytest.raises(ExportNotUsable, match="changed after publication"):
        training_set(engine, tenant, "v1", now=now)
    install.service.record(
        install.alice, ConsentState.WITHDRAWN, via="test"
    )  # she spoke in all six
    empty = create_export(engine, install.service.writer, tenant, requested_by="ml",
                          exports_dir=install.settings.resolved_export_dir())  # fmt: skip
    assert empty.status == "active" and empty.counts is not None
    assert empty.counts["included"] == 0
    with pytest.raises(ExportNotUsable, match="holds no records, so there is nothing to train"):
        training_set(engine, tenant, str(empty.version), now=now)


def eval_script(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "eval_finetune.py"), *args],
        capture_output=True, text=True, timeout=300, check=False,
        env={**clean_env(), "MINUTEKEEPER_DATA_DIR": str(data_dir)},
    )  # fmt: skip


def table_row(output: str, metric: str) -> tuple[float, float]:
    """(base, fine-tuned) of a metric's line in eval_finetune.py's table."""
    line = next(x for x in output.splitlines() if x.strip().startswith(metric))
    base, tuned = line.strip()[len(metric) :].split()[:2]
    return float(base.rstrip("%")), float(tuned.rstrip("%"))


@pytest.mark.timeout(300)  # trains, then three script runs, each loading torch (~120 s alone)
def test_eval_finetune_scores_base_and_fine_tuned_side_by_side_on_the_heldout_records(
    install: Install,
) -> None:
    exporter = install.service.local_principal(
        tenant_name=install.settings.local_tenant, user_name="ml", role=Role.ML_EXPORTER
    )
    config = TrainingConfig(max_steps=16, batch_size=2, learning_rate=0.01)
    report = train_on_export(install.service, install.settings, exporter,
                             TrainRequest("v1", base_model=str(install.base), model_id="tiny-ev",
                                          heldout_share=0.4, config=config))  # fmt: skip
    shown = eval_script(install.data_dir, "tiny-ev", "--max-new-tokens", "6", "--show", "0",
                        "--decoding", "greedy", "--decoding", "penalty=1.3,ngram=2")  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    assert "held-out examples: 2 (meeting_summary)" in out, out
    assert "base (" in out and "fine-tuned (tiny-ev)" in out
    before, after = report.result.heldout_loss_before, report.result.heldout_loss_after
    assert before is not None and after is not None
    assert table_row(out, "loss per assistant token (nats)") == (round(before, 3), round(after, 3))
    # The references open "summary : ..." and so do the fine-tuned answers: its ROUGE is
    # higher than the random base model's on the same held-out records.
    base_r1, tuned_r1 = table_row(out, "ROUGE-1")
    assert tuned_r1 > base_r1, out
    for metric in ("ROUGE-2", "ROUGE-Lsum", "words", "empty", "looping"):
        table_row(out, metric)
    # Decodings side by side: one table each, in the order asked (the first is greedy's).
    tables = out.split("decoding: ")[1:]
    assert [t.split()[0] for t in tables] == ["greedy", "penalty=1.3,ngram=2"], out
    assert "fine-tuned (tiny-ev), penalty=1.3,ngram=2: 2 answers" in out

    unknown = eval_script(install.data_dir, "no-such-model")
    assert unknown.returncode == 1 and "no fine-tuned model 'no-such-model'" in unknown.stderr
    assert mk(install.data_dir, "export", "revoke", "v1", "--reason", "audit").returncode == 0
    refused = eval_script(install.data_dir, "tiny-ev")
    assert refused.returncode == 1 and "is revoked (audit)" in refused.stderr
    assert "Traceback" not in refused.stderr


def removals_audited(settings: Settings, model_id: str) -> int:
    engine = create_db_engine(settings)
    audit = AuditEntryRecord
    with read_transaction(engine) as conn:
        count = conn.execute(
            select(func.count())
            .select_from(audit)
            .where(audit.action == "model.removed", audit.object_id == model_id)
        ).scalar_one()
    engine.dispose()
    return int(count)


def test_a_retired_model_is_deleted_and_audited_and_its_lineage_still_names_it(
    install: Install,
) -> None:
    exporter = install.service.local_principal(
        tenant_name=install.settings.local_tenant, user_name="ml", role=Role.ML_EXPORTER
    )
    train_on_export(install.service, install.settings, exporter,
                    TrainRequest("v1", base_model=str(install.base), model_id="tiny-old",
                                 config=TrainingConfig(max_steps=1)))  # fmt: skip
    cache = install.settings.resolved_model_cache_dir()
    folder = find_trained(cache, "tiny-old")
    converted = list((cache / "ct2").glob("tiny-old-*"))
    assert folder is not None and len(converted) == 1

    unconfirmed = mk(install.data_dir, "models", "remove", "tiny-old", "--reason", "Bob withdrew")
    assert unconfirmed.returncode == 1 and find_trained(cache, "tiny-old") == folder
    assert removals_audited(install.settings, "tiny-old") == 0
    unknown = mk(install.data_dir, "models", "remove", "tiny-gone", "--reason", "x", "--yes")
    assert unknown.returncode == 1 and "no fine-tuned model 'tiny-gone'" in unknown.stderr

    removed = mk(install.data_dir, "models", "remove", "tiny-old", "--reason", "Bob withdrew",
                 "--yes")  # fmt: skip
    assert removed.returncode == 0, removed.stderr
    assert find_trained(cache, "tiny-old") is None
    assert not folder.exists() and not converted[0].exists()
    assert removals_audited(install.settings, "tiny-old") == 1
    assert "tiny-old" not in mk(install.data_dir, "models", "list").stdout
    listed = mk(install.data_dir, "models", "lineage", "Bob").stdout
    assert "tiny-old" in listed and "[not registered on this machine]" in listed
    assert mk(install.data_dir, "audit", "verify").returncode == 0
    with pytest.raises(UnknownModel, match="unknown LLM 'tiny-old'"):
        build_generator(install.settings, model="tiny-old", backend="transformers")


def test_heldout_split_is_stable_and_never_takes_everything(install: Install) -> None:
    examples = training_set(install.service.engine, install.world.tenant_id, "v1",
                            now=install.service.clock()).examples  # fmt: skip
    train, held = split_heldout(examples, 0.2)
    assert len(held) == 1 and len(train) == 5
    assert split_heldout(list(reversed(examples)), 0.2)[1] == held
    assert split_heldout(examples[:1], 0.5) == (examples[:1], [])


def test_lora_adapters_are_trained_and_merged_into_a_plain_checkpoint(tmp_path: Path) -> None:
    import json as json_

    base = tiny_llama(tmp_path / "tiny", chat_template=None, context=128)
    answers = [" ".join(said.split()[:3]) for said in SAID]
    chats = [[{"role": "user", "content": said}, {"role": "assistant", "content": answer}]
             for said, answer in zip(SAID, answers, strict=True)]  # fmt: skip
    config = TrainingConfig(max_steps=10, learning_rate=0.05, batch_size=3, lora=True,
                            lora_rank=4, lora_alpha=8)  # fmt: skip
    result = finetune(base, chats[:5], chats[5:], tmp_path / "out", config,
                      plain_prompt_format=True)  # fmt: skip
    assert result.steps == 10 and result.train_loss_after < result.train_loss_before * 0.8
    saved = json_.loads((tmp_path / "out" / "config.json").read_text())
    assert saved["model_type"] == "llama" and not list((tmp_path / "out").glob("adapter_*"))
    from transformers import AutoModelForCausalLM

    merged = AutoModelForCausalLM.from_pretrained(str(tmp_path / "out"))
    assert not any("lora" in name for name, _ in merged.named_parameters())


# --- which tokens carry the loss ----------------------------------------------------


def test_the_loss_on_assistant_positions_alone_equals_the_full_one(tmp_path: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    folder = tiny_llama(tmp_path / "tiny", chat_template=TEMPLATE, context=128)
    tokenizer = build_tokenizer(TEMPLATE)
    model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32)
    chats = [[{"role": "user", "content": said}, {"role": "assistant", "content": answer}]
             for said, answer in zip(SAID, reversed(SAID), strict=True)]  # fmt: skip
    encoded = [encode_chat(tokenizer, c, end_token_ids(tokenizer)) for c in chats]
    full = mean_loss(model, encoded, tokenizer.pad_token_id, 4, trim=False)
    trimmed = mean_loss(model, encoded, tokenizer.pad_token_id, 4, trim=True)
    assert full is not None and trimmed == pytest.approx(full, rel=1e-5)


_TEXT = st.lists(st.sampled_from(WORDS), min_size=1, max_size=6).map(" ".join)
_TURNS = st.lists(st.tuples(_TEXT, _TEXT), min_size=1, max_size=3)


@settings(max_examples=40, deadline=None)
@given(system=_TEXT, utterances=_TURNS, templated=st.booleans())
def test_only_assistant_turns_carry_labels(
    system: str, utterances: list[tuple[str, str]], templated: bool
) -> None:
    tokenizer = build_tokenizer(TEMPLATE if templated else None)
    messages = [{"role": "system", "content": system}]
    for asked, answered in utterances:
        messages += [{"role": "user", "content": asked},
                     {"role": "assistant", "content": answered}]  # fmt: skip
    encoded = encode_chat(tokenizer, messages, end_token_ids(tokenizer))
    assert len(encoded.labels) == len(encoded.input_ids)
    labeled = [i for i, label in zip(encoded.input_ids, encoded.labels, strict=True)
               if label != IGNORE]  # fmt: skip
    assert all(label in (IGNORE, i) for i, label in zip(encoded.input_ids, encoded.labels,
                                                         strict=True))  # fmt: skip
    eos = tokenizer.eos_token_id
    closing = tokenizer("</assistant>", add_special_tokens=False)["input_ids"]
    expected: list[int] = []
    for _, answered in utterances:
        expected += tokenizer(answered, add_special_tokens=False)["input_ids"]
        expected += [*closing, eos] if templated else [eos]
    assert labeled == expected
