from django.core.management.base import BaseCommand

from caredoor.core.video.settle import settle_due


class Command(BaseCommand):
    help = (
        "Settle the video rooms that have closed: complete sessions both sides attended, "
        "ask specialists to confirm no-shows (the Huey consumer does this every minute). "
        "Safe to run at any time and alongside the consumer."
    )

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        settled = settle_due()
        self.stdout.write(f"Settled {settled} video rooms.")
