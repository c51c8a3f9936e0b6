"""Consent's domain errors. No HTTP knowledge here: the API maps classes to status codes."""

from __future__ import annotations

from minutekeeper.core.errors import AppError, Conflict, InvalidInput, NotFound


class ConsentError(AppError):
    code = "consent_error"


class RedactionFailed(ConsentError):
    """Redaction could not run (its model is missing or not what it claims) or failed on
    a text: nothing is kept unredacted."""

    code = "REDACTION_FAILED"


class UnknownPurpose(InvalidInput):
    code = "unknown_purpose"


class InvalidNotice(InvalidInput):
    code = "invalid_notice"


class InvalidValue(InvalidInput):
    code = "invalid_value"


class UnknownTenant(NotFound):
    code = "unknown_tenant"


class UnknownSubject(NotFound):
    code = "unknown_subject"


class UnknownNoticeVersion(NotFound):
    code = "unknown_notice_version"


class UnknownArtifact(NotFound):
    code = "unknown_artifact"


class UnknownAttributionRequest(NotFound):
    code = "unknown_attribution_request"


class AttributionClosed(ConsentError):
    """The request was answered, voided or has expired."""

    code = "attribution_closed"


class UnknownDecision(NotFound):
    code = "unknown_decision"


class NoticeNotServed(ConsentError):
    """Consent must point at a notice version this subject was shown (rule 6)."""

    code = "notice_not_served"


class NoticeSuperseded(ConsentError):
    """Consent must name the notice's current version (rule 6): terms the person read in an
    older version may not be the terms their words would be kept under."""

    code = "notice_superseded"


class GpcSignalled(ConsentError):
    """The request carried Global Privacy Control (`Sec-GPC: 1`), which opts its subject
    out (rule 14); giving consent anyway needs an explicit, recorded override."""

    code = "gpc_signalled"


class ConfirmationRequired(ConsentError):
    """Turning a switch off would revoke published exports and retire kept examples, for
    good: the admin confirms having seen how many first."""

    code = "confirmation_required"


class ConsentForOtherSubject(ConsentError):
    """Only the subject consents for themself (rule 7); admins and hosts cannot."""

    code = "consent_for_other_subject"


class TenantMismatch(ConsentError):
    """Something of one tenant was used in another (rule 15)."""

    code = "tenant_mismatch"


class ConsentAlreadyExpired(InvalidInput):
    code = "consent_already_expired"


class SubjectCannotConsent(ConsentError):
    code = "subject_cannot_consent"


class IdempotencyConflict(ConsentError):
    """The same Idempotency-Key was reused with a different request (rule 19)."""

    code = "idempotency_conflict"


class ImmutableRecord(ConsentError):
    """The database refused to change or delete a ledger or audit row."""

    code = "immutable_record"


class AuditKeyError(ConsentError):
    code = "audit_key_error"


class TranslationExists(Conflict):
    """A version's translation into a language is what people read: it is never changed."""

    code = "translation_exists"


class UnknownExport(NotFound):
    code = "unknown_export"


class ExportConflict(Conflict):
    """Consent kept changing under an export being written; nothing was published."""

    code = "export_conflict"


class ExportRevoked(ConsentError):
    """The export was revoked (a contributor withdrew, or an operator revoked it): its
    files may no longer be handed out; its tombstones say which records to drop."""

    code = "export_revoked"


class NameTaken(Conflict):
    """Someone of the tenant already has the name: a typed name must find one person."""

    code = "name_taken"


class NotAGuest(Conflict):
    """Only a guest can be made a member (not a member, nor an erased person)."""

    code = "not_a_guest"


class AmbiguousSubject(InvalidInput):
    """Several people have the name given: the id says which one."""

    code = "ambiguous_subject"


class SourceDeleted(ConsentError):
    """The meeting or draft the content was made from has been deleted: nothing made from
    it is kept any more."""

    code = "source_deleted"
