"""Start a fresh deployment: a network, its operator organization, a first brand and the
first operator, who signs in and sets up two-factor sign-in on first visit to /org/."""

from getpass import getpass

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.text import slugify

from caredoor.core.accounts.actions import do_grant_membership
from caredoor.core.accounts.models import User
from caredoor.core.accounts.policy import Role
from caredoor.core.brands.actions import do_create_brand
from caredoor.core.brands.models import Network
from caredoor.core.organizations.actions import do_create_organization
from caredoor.core.organizations.models import OrgKind


class Command(BaseCommand):
    help = "Create a network with its operator organization, first brand and first operator."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--network", required=True, help="network name")
        parser.add_argument("--brand", required=True, help="first brand's name")
        parser.add_argument("--host", required=True, help="first brand's primary host")
        parser.add_argument("--operator-email", required=True)

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        slug = slugify(opts["network"])
        if Network.objects.filter(slug=slug).exists():
            raise CommandError(f"A network named {opts['network']!r} exists already.")
        password = getpass("Password for the operator (leave empty for an existing account): ")
        try:
            with transaction.atomic():
                network = Network.objects.create(slug=slug, name=opts["network"])
                operator_org = do_create_organization(
                    network=network,
                    kind=OrgKind.OPERATOR,
                    name=opts["network"],
                    slug=f"{slug}-operator",
                    brands=[],
                )
                do_create_brand(
                    network=network,
                    slug=slugify(opts["brand"]),
                    primary_host=opts["host"],
                    fields={
                        "name": opts["brand"],
                        "primary_color": "#1f4e79",
                        "accent_color": "#0f766e",
                        "languages": ["en"],
                        "modules": ["booking", "video", "messaging"],
                        "sign_in_methods": ["password"],
                    },
                )
                user = User.objects.filter(email=opts["operator_email"].lower()).first()
                if user is None:
                    if not password:
                        raise CommandError("A new operator account needs a password.")
                    user = User.objects.create_user(opts["operator_email"], password)
                do_grant_membership(
                    user=user, role=Role.OPERATOR, network=network, organization=operator_org
                )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Network ready. Sign in at http://{opts['host']}/org/ as {user.email}."
            )
        )
