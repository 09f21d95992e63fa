from django.core.management.base import BaseCommand

from caredoor.demo.seed import seed


class Command(BaseCommand):
    help = "Create the demo network (brands, organizations, people). Safe to run again."

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        seed(log=self.stdout.write)
        self.stdout.write(self.style.SUCCESS("Demo network ready."))
