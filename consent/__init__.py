"""Consent: notices, the ledger, the gate, and the audit chain that records every decision.

This package has no ML dependency; it decides, for every AI output and the input behind
it, whether the pair may be kept as fine-tuning data. Its front door, for the CLI, the API
and the features alike, is what this module names:

- `ConsentService`, the one entry point for consent itself: notices, giving and
  withdrawing, switches, decisions, erasure, audit. Each method is one transaction.
- `capture_offer` with `Offer` and `Utterance`: an AI output offered to the gate as training
  data, redacted by a `Redactor` before anything is kept; `reredact_candidates` brings
  candidates kept under an older redaction to the current one.
- `Removal` and `Deleted`: what a feature deleting a saved meeting tells
  `ConsentService.delete_source`, and what consent deleted with it.
- the values that cross the boundary (`Principal`, `Role`, `ArtifactKind`, ...), the
  purposes, `promote_command` (how a guest is made a member, for a refusal to name), and
  `consent.errors` for the API's error table.

The ML team's side, training exports and their lineage, has its own front door,
`consent.exports`: it runs offline in batches over everything the gate kept, with its
own files on disk, and is not a per-request operation of the service.
Everything else in this package is its inside.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from minutekeeper.core.lazy import public_api

if TYPE_CHECKING:
    from minutekeeper.consent.capture import Offer as Offer
    from minutekeeper.consent.capture import Utterance as Utterance
    from minutekeeper.consent.capture import capture_offer as capture_offer
    from minutekeeper.consent.capture import purge_expired as purge_expired
    from minutekeeper.consent.deletion import Deleted as Deleted
    from minutekeeper.consent.deletion import Removal as Removal
    from minutekeeper.consent.domain import DEFAULT_NOTICE_KEY as DEFAULT_NOTICE_KEY
    from minutekeeper.consent.domain import UNKNOWN_SPEAKER as UNKNOWN_SPEAKER
    from minutekeeper.consent.domain import ArtifactKind as ArtifactKind
    from minutekeeper.consent.domain import AttributionRequest as AttributionRequest
    from minutekeeper.consent.domain import Claim as Claim
    from minutekeeper.consent.domain import ConsentEvent as ConsentEvent
    from minutekeeper.consent.domain import ConsentState as ConsentState
    from minutekeeper.consent.domain import DataClass as DataClass
    from minutekeeper.consent.domain import Item as Item
    from minutekeeper.consent.domain import NoticeVersion as NoticeVersion
    from minutekeeper.consent.domain import Principal as Principal
    from minutekeeper.consent.domain import Role as Role
    from minutekeeper.consent.domain import Subject as Subject
    from minutekeeper.consent.domain import SubjectKind as SubjectKind
    from minutekeeper.consent.domain import Tenant as Tenant
    from minutekeeper.consent.ledger import check_request as check_request
    from minutekeeper.consent.members import promote_command as promote_command
    from minutekeeper.consent.members import shell_word as shell_word
    from minutekeeper.consent.notices import NoticeDraft as NoticeDraft
    from minutekeeper.consent.notices import TranslationDraft as TranslationDraft
    from minutekeeper.consent.notices import load_notice_file as load_notice_file
    from minutekeeper.consent.purposes import CONSENT_PURPOSES as CONSENT_PURPOSES
    from minutekeeper.consent.purposes import TRAIN_AI_SYSTEM as TRAIN_AI_SYSTEM
    from minutekeeper.consent.purposes import validate_purpose as validate_purpose
    from minutekeeper.consent.redaction import Person as Person
    from minutekeeper.consent.redaction import Redactor as Redactor
    from minutekeeper.consent.reredaction import Reredacted as Reredacted
    from minutekeeper.consent.reredaction import reredact_candidates as reredact_candidates
    from minutekeeper.consent.service import ConsentService as ConsentService

__all__, __getattr__ = public_api(__name__, __file__)
