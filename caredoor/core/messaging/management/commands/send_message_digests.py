from datetime import timedelta

from django.core.management.base import BaseCommand
from django.utils import timezone

from caredoor.core.messaging.digest import DELAY, send_digests


class Command(BaseCommand):
    help = (
        "Email the unread-message digests due now, once (the Huey consumer does this every "
        "5 minutes). Safe to run at any time and alongside the consumer."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument(
            "--delay-minutes",
            type=int,
            default=int(DELAY.total_seconds() // 60),
            help="only messages unread for at least this long (default: %(default)s)",
        )

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        delay = timedelta(minutes=max(0, options["delay_minutes"]))
        sent = send_digests(timezone.now(), delay=delay)
        self.stdout.write(f"Sent {sent} message digests.")
