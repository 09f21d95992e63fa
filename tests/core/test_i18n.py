"""The German translation is complete, compiled, and served end to end on a German brand.

The .po file is read with a small parser of our own, so these tests do not need gettext.
"""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail

LOCALE_DIR = Path(settings.BASE_DIR) / "caredoor" / "locale"
PO = LOCALE_DIR / "de" / "LC_MESSAGES" / "django.po"
MO = LOCALE_DIR / "de" / "LC_MESSAGES" / "django.mo"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|<[^>]+>")
ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}


def _unquote(text: str) -> str:
    body = text.strip()
    assert body.startswith('"') and body.endswith('"'), f"not a quoted string: {text!r}"
    return re.sub(r"\\(.)", lambda m: ESCAPES.get(m.group(1), "\\" + m.group(1)), body[1:-1])


def read_po(path: Path) -> list[dict]:
    """Entries as dicts: ``flags``, ``msgid``, maybe ``msgid_plural``, and ``msgstr`` (a list)."""
    entries: list[dict] = []
    entry: dict = {}
    key = ""

    def finish() -> None:
        if "msgid" in entry:
            entries.append(entry)

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#,"):
            if "msgid" in entry:
                finish()
                entry = {}
            entry.setdefault("flags", set()).update(f.strip() for f in line[2:].split(","))
        elif line.startswith("#"):
            continue  # references, comments and obsolete (#~) entries are not served
        elif line.startswith('"'):
            if key.startswith("msgstr"):
                entry["msgstr"][-1] += _unquote(line)
            else:
                entry[key] += _unquote(line)
        else:
            key, _space, rest = line.partition(" ")
            if key in ("msgctxt", "msgid") and ("msgstr" in entry or key in entry):
                finish()
                entry = {}
            if key.startswith("msgstr"):
                entry.setdefault("msgstr", []).append(_unquote(rest))
                key = "msgstr"
            else:
                entry[key] = _unquote(rest)
            entry.setdefault("flags", set())
    finish()
    return entries


@pytest.fixture(scope="module")
def po_entries() -> list[dict]:
    return read_po(PO)


def _messages(entries: list[dict]) -> list[dict]:
    return [e for e in entries if e["msgid"] != ""]


def test_every_entry_is_translated_and_none_is_fuzzy(po_entries):
    messages = _messages(po_entries)
    assert len(messages) > 300
    fuzzy = [e["msgid"] for e in po_entries if "fuzzy" in e["flags"]]
    assert fuzzy == []
    untranslated = [e["msgid"] for e in messages if not all(e["msgstr"])]
    assert untranslated == []
    header = next(e for e in po_entries if e["msgid"] == "")["msgstr"][0]
    assert "Language: de\n" in header
    assert "Plural-Forms: nplurals=2; plural=(n != 1);" in header


def test_translations_keep_placeholders_and_markup(po_entries):
    wrong = []
    for e in _messages(po_entries):
        source = e.get("msgid_plural", e["msgid"])
        for text in e["msgstr"]:
            if sorted(PLACEHOLDER.findall(text)) != sorted(PLACEHOLDER.findall(source)):
                wrong.append((e["msgid"], text))
    assert wrong == []


def test_the_compiled_catalog_matches_the_po_file(po_entries):
    with MO.open("rb") as fh:
        catalog = gettext.GNUTranslations(fh)
    stale = []
    for e in _messages(po_entries):
        context = e.get("msgctxt")
        if "msgid_plural" in e and context is not None:
            got = [catalog.npgettext(context, e["msgid"], e["msgid_plural"], n) for n in (1, 2)]
        elif "msgid_plural" in e:
            got = [catalog.ngettext(e["msgid"], e["msgid_plural"], n) for n in (1, 2)]
        elif context is not None:
            got = [catalog.pgettext(context, e["msgid"])]
        else:
            got = [catalog.gettext(e["msgid"])]
        if got != e["msgstr"]:
            stale.append(e["msgid"])
    assert stale == [], "run manage.py compilemessages"


@pytest.fixture
def german(world):
    brand = world.a.brand
    brand.default_language = "de"
    brand.languages = ["de", "en"]
    brand.save()
    return brand


def test_landing_page_is_german_on_a_german_brand(world, german, client_for):
    page = client_for(None, german).get("/").content.decode()
    assert '<html lang="de">' in page
    for text in ["Konto erstellen", "Zum Hauptinhalt springen", "Anmelden", "Fachpersonen-Portal"]:
        assert text in page
    assert "Create an account" not in page
    assert "Skip to main content" not in page


def test_sign_in_page_is_german_including_allauths_labels(world, german, client_for):
    response = client_for(None, german).get("/accounts/login/")
    page = response.content.decode()
    assert response["Content-Language"] == "de"
    assert '<html lang="de">' in page
    assert "Bei Brand A anmelden" in page
    assert "Anmeldecode per E-Mail" in page
    assert "Anmeldelink per E-Mail" in page
    # allauth's own field labels, from allauth's German catalog
    assert 'for="id_login">E-Mail' in page
    assert 'for="id_password">Passwort' in page
    assert "Sign in to" not in page


def test_patient_account_page_is_german(world, german, client_for):
    page = client_for(world.a.patient, german).get("/account/").content.decode()
    assert '<html lang="de">' in page
    for text in [
        "Kontoeinstellungen",
        "Vollständiger Name",
        "Zeitzone",
        "Zwei-Faktor-Anmeldung",
        "Einstellungen speichern",
        "Abmelden",
    ]:
        assert text in page
    assert "Account settings" not in page


def test_a_person_who_chose_english_sees_english_on_a_german_brand(world, german, client_for):
    patient = world.a.patient
    patient.language = "en"
    patient.save()
    client = client_for(patient, german)
    page = client.get("/account/").content.decode()
    assert '<html lang="en">' in page
    assert "Account settings" in page and "Kontoeinstellungen" not in page
    landing = client.get("/").content.decode()
    assert "Skip to main content" in landing and "Zum Hauptinhalt springen" not in landing


def test_magic_link_email_is_german_on_a_german_brand(
    world, german, client_for, django_capture_on_commit_callbacks
):
    assert "magic_link" in german.sign_in_methods
    with django_capture_on_commit_callbacks(execute=True):  # the email leaves on commit
        response = client_for(None, german).post(
            "/accounts/magic/", {"email": world.a.patient.email}
        )
    assert response.status_code == 200
    assert "Prüfen Sie Ihre E-Mails" in response.content.decode()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.subject == "Ihr Anmeldelink für Brand A"
    assert message.body.startswith("Hallo,")
    assert "Mit diesem Link melden Sie sich bei Brand A an." in message.body
    assert "ohne den Link kann sich niemand anmelden" in message.body
    assert "sign in" not in message.body.lower()
    assert re.search(r"http://a\.test/accounts/magic/\S+/", message.body)
