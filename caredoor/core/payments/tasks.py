"""Payment jobs run by the Huey consumer: webhook events, and a sweeper every minute that
derives what is due from the database (ARCHITECTURE rule 7)."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from caredoor.core.payments import checkout, emails, packages, refunds, webhooks

log = logging.getLogger("caredoor.payments")


@db_task(retries=5, retry_delay=30)
def process_webhook_event(pk: int) -> None:
    try:
        webhooks.process(pk)
    except Exception as error:
        webhooks.record_failure(pk, error)
        raise


@db_task()
def deliver_payment_emails(keys: list[str]) -> dict[str, str]:
    """Send the patient's payment and refund emails an action queued (on its commit)."""
    return emails.deliver(keys)


@db_periodic_task(crontab(minute="*"))
def sweep_payments_every_minute() -> dict[str, int]:
    """Released holds (their intents cancelled), late webhooks (intents re-read), policy
    refunds not yet made, refunds Stripe has not answered, packages past their date, and
    payment emails that failed or were never sent."""
    return {
        "released": checkout.release_abandoned(),
        "synced": checkout.sync_stale(),
        "refunded": refunds.refunds_due(),
        "packages_expired": packages.expire_due(),
        "emails": len(emails.retry()),
    }
