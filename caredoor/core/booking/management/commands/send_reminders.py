from django.core.management.base import BaseCommand
from django.utils import timezone

from caredoor.core.booking.reminders import send_due_reminders


class Command(BaseCommand):
    help = (
        "Send the session reminders due now, once (the Huey consumer does this every "
        "minute). Safe to run at any time and alongside the consumer."
    )

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        sent = send_due_reminders(timezone.now())
        self.stdout.write(f"Sent {sent} reminders.")
