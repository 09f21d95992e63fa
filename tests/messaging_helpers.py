"""Set-up for messaging tests: an allocated pair with its thread, files to attach."""

from __future__ import annotations

import io
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from caredoor.core.care.actions import do_allocate
from caredoor.core.care.models import Source
from caredoor.core.messaging.actions import care_thread
from caredoor.core.messaging.models import Thread
from tests.specialist_helpers import approved_and_listed


def allocated_pair(side: Any, brand: Any = None) -> tuple[Any, Any, Thread]:
    """The side's specialist listed on ``brand`` (default the side's brand) and allocated
    to the side's patient; returns (profile, relationship, thread)."""
    brand = brand or side.brand
    profile, _listings = approved_and_listed(side, side.specialist, [brand])
    rel = do_allocate(brand=brand, patient=side.patient, profile=profile, source=Source.DIRECTORY)
    return profile, rel, care_thread(brand, side.patient, profile)


def png_upload(name: str = "scan.png", size: tuple[int, int] = (8, 8)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def pdf_upload(name: str = "letter.pdf", body: bytes = b"") -> SimpleUploadedFile:
    data = (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n" + body + b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )
    return SimpleUploadedFile(name, data, content_type="application/pdf")
