"""Periodic checks of the audit trail, run by the Huey consumer."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from caredoor.core.compliance.audit import ChainReport, verify_chain

log = logging.getLogger("caredoor.audit")


@db_periodic_task(crontab(hour="3", minute="17"))
def verify_audit_chain_nightly() -> ChainReport:
    """Verify the whole chain every night; a broken chain is logged as an error."""
    report = verify_chain()
    if report.ok:
        log.info("audit chain OK: %s events verified", report.checked)
    else:
        log.error("audit chain BROKEN at event #%s: %s", report.broken_seq, report.reason)
    return report
