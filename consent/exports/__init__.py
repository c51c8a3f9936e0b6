"""Training exports, the ML team's side of consent: `create_export` re-decides every kept
candidate at one ledger position (`build`), then re-checks and publishes the version
(`publish`); the catalog reads and revokes versions; a withdrawal reaches published ones as
tombstones; the lineage records which export trained which model.

It is its own front door rather than methods of `ConsentService` because it is a
different job: offline, in batches over a whole tenant, writing files on disk, run by the
ML exporter role; the service is the per-request consent of one person.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from minutekeeper.core.lazy import public_api

if TYPE_CHECKING:
    from minutekeeper.consent.exports.build import ExportHooks as ExportHooks
    from minutekeeper.consent.exports.catalog import ExportInfo as ExportInfo
    from minutekeeper.consent.exports.catalog import export_tombstones as export_tombstones
    from minutekeeper.consent.exports.catalog import get_export as get_export
    from minutekeeper.consent.exports.catalog import list_exports as list_exports
    from minutekeeper.consent.exports.catalog import revoke_export as revoke_export
    from minutekeeper.consent.exports.catalog import sweep as sweep
    from minutekeeper.consent.exports.create import create_export as create_export
    from minutekeeper.consent.exports.lineage import ExportNotUsable as ExportNotUsable
    from minutekeeper.consent.exports.lineage import Lineage as Lineage
    from minutekeeper.consent.exports.lineage import TrainingExample as TrainingExample
    from minutekeeper.consent.exports.lineage import lineage_exists as lineage_exists
    from minutekeeper.consent.exports.lineage import lineage_json as lineage_json
    from minutekeeper.consent.exports.lineage import models_trained_on as models_trained_on
    from minutekeeper.consent.exports.lineage import record_lineage as record_lineage
    from minutekeeper.consent.exports.lineage import record_removal as record_removal
    from minutekeeper.consent.exports.lineage import training_set as training_set
    from minutekeeper.consent.exports.tombstones import sync_files as sync_files

__all__, __getattr__ = public_api(__name__, __file__)
