"""Periodic checks of the audit trail and clean-up of stored files, run by the Huey consumer."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from caredoor.core.compliance.audit import ChainReport, verify_chain
from caredoor.core.compliance.uploads import remove_orphaned_files

log = logging.getLogger("caredoor.audit")
files_log = logging.getLogger("caredoor.files")


@db_periodic_task(crontab(hour="3", minute="17"))
def verify_audit_chain_nightly() -> ChainReport:
    """Verify the whole chain every night; a broken chain is logged as an error."""
    report = verify_chain()
    if report.ok:
        log.info("audit chain OK: %s events verified", report.checked)
    else:
        log.error("audit chain BROKEN at event #%s: %s", report.broken_seq, report.reason)
    return report


@db_periodic_task(crontab(hour="3", minute="47"))
def remove_orphaned_files_nightly() -> int:
    """Delete encrypted blobs left without a row (a transaction rolled back after storing)."""
    removed = remove_orphaned_files()
    if removed:
        files_log.info("removed %s orphaned stored files", removed)
    return removed
