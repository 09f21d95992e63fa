"""Safe, private files: checking uploads, storing them encrypted, serving them back.

An upload is judged by its bytes, never by its name or the browser's content type. Only
PDF, PNG, JPEG and WebP are recognized; everything else (SVG, HTML, GIF, ZIP and Office
files, scripts renamed ``.pdf``) is refused. ``check_upload`` reads at most
``max_bytes + 1`` bytes, refuses PDFs with active content (scripts, launch actions,
embedded files, automatic actions) and re-encodes every image through ``reencode_image``,
so what it returns carries no metadata and no bytes the browser sent beyond the pixels.

``store_file`` writes the bytes encrypted (``crypto.encrypt_bytes``) to the default storage
under ``private/<yyyy>/<mm>/<uuid>.bin`` (no URL serves ``private/``) and records a
``StoredFile`` row with the size and SHA-256 of the plain bytes. ``read_file`` decrypts and
verifies them, ``delete_file`` removes row and blob, ``file_response`` serves a file to a
view that has already checked who may see it, with headers that keep browsers from
sniffing, caching or running it. These helpers record no audit events: the calling action
knows the actor, brand and reason and records them.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import io
import math
import os
import re
import unicodedata
import uuid
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol
from urllib.parse import quote

from cryptography.fernet import InvalidToken
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.http import HttpResponse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from PIL import Image, ImageOps

from caredoor.core.compliance.crypto import decrypt_bytes, encrypt_bytes
from caredoor.core.compliance.models import StoredFile

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
WEBP = "image/webp"

IMAGE_TYPES: frozenset[str] = frozenset({PNG, JPEG, WEBP})
DOCUMENT_TYPES: frozenset[str] = frozenset({PDF, PNG, JPEG, WEBP})

# Display order and names for messages, and the extension a stored file's name gets.
_LABELS = {PDF: "PDF", PNG: "PNG", JPEG: "JPEG", WEBP: "WebP"}
_EXTENSIONS = {PDF: ".pdf", PNG: ".png", JPEG: ".jpg", WEBP: ".webp"}
_PIL_FORMATS = {PNG: "PNG", JPEG: "JPEG", WEBP: "WEBP"}

DEFAULT_MAX_SIDE = 4096
DEFAULT_MAX_PIXELS = 4096 * 4096
JPEG_QUALITY = 88
MAX_NAME_LENGTH = 120
PRIVATE_DIR = "private"

MB = 1024 * 1024


class Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


@dataclass(frozen=True)
class CheckedUpload:
    """An upload that passed ``check_upload``: safe bytes, their type and a safe name."""

    content_type: str
    data: bytes
    original_name: str

    @property
    def size(self) -> int:
        return len(self.data)


class FileIntegrityError(RuntimeError):
    """A stored file is missing, cannot be decrypted, or does not match its checksum."""


# --- content sniffing ----------------------------------------------------------------------


def sniff(data: bytes) -> str | None:
    """The content type the bytes themselves declare, or None if not one we accept."""
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    return None


# --- messages ------------------------------------------------------------------------------


def _size_text(n: int, *, round_up: bool) -> str:
    """``7.3 MB`` or ``300 KB``; a file's size rounds up so it never looks like the limit."""
    if n < MB:
        kb = math.ceil(n / 1024) if round_up else n // 1024
        return _("%(number)s KB") % {"number": number_format(kb)}
    tenths = math.ceil(n * 10 / MB) if round_up else math.floor(n * 10 / MB)
    places = 0 if tenths % 10 == 0 else 1
    return _("%(number)s MB") % {"number": number_format(tenths / 10, decimal_pos=places)}


def _megapixels(pixels: int) -> str:
    tenths = math.floor(pixels / 100_000)
    return number_format(tenths / 10, decimal_pos=0 if tenths % 10 == 0 else 1)


def _not_accepted(allowed: Iterable[str]) -> ValidationError:
    labels = ", ".join(label for ctype, label in _LABELS.items() if ctype in allowed)
    return ValidationError(
        _("This file is not an accepted type. Accepted: %(types)s.") % {"types": labels},
        code="file_type",
    )


def _too_large(size: int | None, max_bytes: int) -> ValidationError:
    limit = _size_text(max_bytes, round_up=False)
    if size is None:
        message = _("This file is larger than the limit of %(limit)s.") % {"limit": limit}
    else:
        message = _("This file is %(size)s; the limit is %(limit)s.") % {
            "size": _size_text(size, round_up=True),
            "limit": limit,
        }
    return ValidationError(message, code="file_size")


def _too_many_pixels(max_pixels: int) -> ValidationError:
    return ValidationError(
        _(
            "This image has too many pixels to be processed safely; the limit is "
            "%(limit)s megapixels."
        )
        % {"limit": _megapixels(max_pixels)},
        code="image_pixels",
    )


def _damaged_image() -> ValidationError:
    return ValidationError(
        _(
            "This image is damaged or incomplete and cannot be read. Please upload the "
            "original file again."
        ),
        code="image_damaged",
    )


# --- names ---------------------------------------------------------------------------------

_FORBIDDEN_IN_NAMES = frozenset('/\\:*?"<>|')


def _allowed_in_name(ch: str) -> bool:
    category = unicodedata.category(ch)
    # C*: control, format (bidi overrides, zero-width), unassigned; Zl/Zp: line breaks.
    return ch not in _FORBIDDEN_IN_NAMES and category[0] != "C" and category not in ("Zl", "Zp")


def safe_name(name: str, content_type: str) -> str:
    """A basename safe to store and to offer as a download name, at most 120 characters.

    Paths, control and formatting characters (such as right-to-left overrides that hide
    the real extension) and characters Windows forbids are dropped; the extension is the
    one of the content type, whatever the original name said.
    """
    base = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    kept = "".join(ch for ch in base if _allowed_in_name(ch))
    kept = " ".join(kept.split())
    stem, dot, _ext = kept.rpartition(".")
    if not dot:
        stem = kept
    extension = _EXTENSIONS.get(content_type, ".bin")
    stem = stem.strip(" .")[: MAX_NAME_LENGTH - len(extension)].rstrip(" .")
    return (stem or "file") + extension


# --- checking uploads ----------------------------------------------------------------------


def _declared_size(upload: Any) -> int | None:
    size = getattr(upload, "size", None)
    if isinstance(size, int):
        return size
    try:
        here = upload.tell()
        end = upload.seek(0, os.SEEK_END)
        upload.seek(here)
    except (AttributeError, OSError, ValueError):
        return None
    return end if isinstance(end, int) else None


def _read_at_most(upload: Readable, limit: int) -> bytes:
    with contextlib.suppress(AttributeError, OSError, ValueError):
        upload.seek(0)  # type: ignore[attr-defined]  # a form may have read it already
    chunks: list[bytes] = []
    remaining = limit
    while remaining > 0:
        chunk = upload.read(min(remaining, MB))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def check_upload(
    uploaded_file: Readable,
    *,
    allowed: frozenset[str],
    max_bytes: int,
    max_side: int = DEFAULT_MAX_SIDE,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> CheckedUpload:
    """Check an upload (a Django ``UploadedFile`` or any binary file object).

    Raises ``ValidationError`` with a message for the person who uploaded it. Images come
    back re-encoded (``reencode_image``): other bytes, and WebP comes back as JPEG. PDFs
    come back exactly as sent.
    """
    unknown = set(allowed) - DOCUMENT_TYPES
    if unknown:
        raise ValueError(f"not content types check_upload knows: {sorted(unknown)}")
    size = _declared_size(uploaded_file)
    if size is not None and size > max_bytes:
        raise _too_large(size, max_bytes)
    data = _read_at_most(uploaded_file, max_bytes + 1)
    if len(data) > max_bytes:
        raise _too_large(None, max_bytes)  # the declared size, if any, was wrong
    if not data:
        raise ValidationError(_("This file is empty."), code="file_empty")
    content_type = sniff(data)
    if content_type is None or content_type not in allowed:
        raise _not_accepted(allowed)
    if content_type == PDF:
        check_pdf(data)
    else:
        data, content_type = reencode_image(data, max_side=max_side, max_pixels=max_pixels)
    name = safe_name(str(getattr(uploaded_file, "name", "") or ""), content_type)
    return CheckedUpload(content_type=content_type, data=data, original_name=name)


# --- PDFs ----------------------------------------------------------------------------------

# Names (with #xx escapes decoded) that make a PDF do something by itself or carry files.
ACTIVE_PDF_NAMES = frozenset(
    {
        b"JavaScript",
        b"JS",
        b"Launch",
        b"EmbeddedFile",
        b"EmbeddedFiles",
        b"AA",  # additional actions: run on open, close, focus, keystrokes ...
        b"RichMedia",
        b"XFA",
        b"GoToE",
        b"ImportData",
        b"SubmitForm",
    }
)
# Inside raw stream bytes (compressed pixels, fonts) short names occur by chance; only long
# ones are looked for there, which still catches an action dictionary hidden in a stream.
_LONG_ACTIVE_NAMES = frozenset(n for n in ACTIVE_PDF_NAMES if len(n) >= 6)

_PDF_NAME = re.compile(rb"/([^\x00\t\n\x0c\r \[\]()<>{}/%]+)")
_PDF_HEX = re.compile(rb"#([0-9A-Fa-f]{2})")
_STREAM_START = re.compile(rb"(?<=[>\s])stream(?:\r\n|\r|\n)")
_FLATE = frozenset({b"FlateDecode", b"Fl"})
_OTHER_FILTERS = frozenset(
    {b"LZWDecode", b"LZW", b"ASCIIHexDecode", b"AHx", b"ASCII85Decode", b"A85"}
    | {b"RunLengthDecode", b"RL", b"CCITTFaxDecode", b"CCF", b"DCTDecode", b"DCT"}
    | {b"JBIG2Decode", b"JPXDecode", b"Crypt"}
)
_OBJECT_STREAM_BUDGET = 32 * MB


def _pdf_names(chunk: bytes) -> set[bytes]:
    names = set()
    for match in _PDF_NAME.finditer(chunk):
        name = match.group(1)
        if b"#" in name:
            name = _PDF_HEX.sub(lambda m: bytes([int(m.group(1), 16)]), name)
        names.add(name)
    return names


def _unscannable_pdf() -> ValidationError:
    return ValidationError(
        _(
            "This PDF could not be checked for active content. Save it again as a plain "
            "PDF, for example with “Print to PDF”, and upload that copy."
        ),
        code="pdf_unscannable",
    )


def _inflate_object_stream(dictionary: set[bytes], body: bytes, budget: int) -> tuple[bytes, int]:
    """The objects inside an object stream, if plain or Flate alone; else refuse the PDF."""
    if dictionary & _OTHER_FILTERS or b"DecodeParms" in dictionary:
        raise _unscannable_pdf()
    if not dictionary & _FLATE:
        if b"Filter" in dictionary:  # a filter we do not know
            raise _unscannable_pdf()
        return body, budget
    inflater = zlib.decompressobj()
    try:
        objects = inflater.decompress(body, budget + 1)
    except zlib.error:
        raise _unscannable_pdf() from None
    if len(objects) > budget or inflater.unconsumed_tail:
        raise _unscannable_pdf()
    return objects, budget - len(objects)


def check_pdf(data: bytes) -> None:
    """Refuse a PDF that is cut short or carries active content.

    Names are compared after decoding ``#xx`` escapes (``/J#61vaScript``). Dictionaries
    outside streams are checked for every active name, compressed object streams
    (``/Type /ObjStm``, where PDF 1.5+ keeps dictionaries) are inflated, within a budget,
    and checked the same way; an object stream that cannot be inflated is refused.
    """
    if not data.startswith(b"%PDF-") or b"%%EOF" not in data[-1024:]:
        raise ValidationError(
            _(
                "This PDF is incomplete or damaged: it does not end like a PDF. Please "
                "upload the original file again."
            ),
            code="pdf_incomplete",
        )
    found: set[bytes] = set()
    budget = _OBJECT_STREAM_BUDGET
    pos = 0
    while True:
        start = _STREAM_START.search(data, pos)
        if start is None:
            found |= _pdf_names(data[pos:]) & ACTIVE_PDF_NAMES
            break
        outside = data[pos : start.start()]
        found |= _pdf_names(outside) & ACTIVE_PDF_NAMES
        end = data.find(b"endstream", start.end())
        if end < 0:
            end = len(data)
        body = data[start.end() : end]
        obj = outside.rfind(b"obj")
        dictionary = _pdf_names(outside[obj:] if obj >= 0 else outside)
        if b"ObjStm" in dictionary:
            body, budget = _inflate_object_stream(dictionary, body, budget)
            found |= _pdf_names(body) & ACTIVE_PDF_NAMES
        else:
            found |= _pdf_names(body) & _LONG_ACTIVE_NAMES
        pos = end + len(b"endstream")
    if found:
        raise ValidationError(
            _(
                "This PDF contains active content (scripts, embedded files or automatic "
                "actions), which is not accepted. Save it again as a plain PDF, for example "
                "with “Print to PDF”, and upload that copy."
            ),
            code="pdf_active_content",
        )


# --- images --------------------------------------------------------------------------------


def reencode_image(data: bytes, *, max_side: int, max_pixels: int) -> tuple[bytes, str]:
    """Decode an image within limits and encode its pixels again, with no metadata at all.

    The dimensions are checked from the header, before any pixel is decoded. EXIF
    orientation is applied to the pixels. PNG stays PNG (with transparency); JPEG and WebP
    become progressive JPEG at quality 88 (transparent areas on white). Only the first
    frame of an animation is kept. Pillow's own decompression-bomb limit
    (``Image.MAX_IMAGE_PIXELS``) caps ``max_pixels``, so its warning can never pass.
    """
    content_type = sniff(data)
    if content_type not in IMAGE_TYPES:
        raise _not_accepted(IMAGE_TYPES)
    pixel_limit = min(max_pixels, Image.MAX_IMAGE_PIXELS or max_pixels)
    try:
        with Image.open(io.BytesIO(data), formats=[_PIL_FORMATS[content_type]]) as image:
            width, height = image.size
            if width > max_side or height > max_side:
                message = _(
                    "The image is %(width)s×%(height)s pixels; "  # noqa: RUF001 (the sign)
                    "the limit is %(max)s on a side."
                )
                raise ValidationError(
                    message % {"width": width, "height": height, "max": max_side},
                    code="image_size",
                )
            if width * height > pixel_limit:
                raise _too_many_pixels(pixel_limit)
            image.load()
            upright = ImageOps.exif_transpose(image)
            pixels = _plain_pixels(upright, keep_alpha=content_type == PNG)
            # A new image holds the pixels only: no EXIF, ICC profile, XMP or text chunks.
            clean = Image.new(pixels.mode, pixels.size)
            clean.paste(pixels)
            out = io.BytesIO()
            if content_type == PNG:
                clean.save(out, format="PNG")
                result_type = PNG
            else:
                clean.save(
                    out, format="JPEG", quality=JPEG_QUALITY, progressive=True, optimize=True
                )
                result_type = JPEG
    except ValidationError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels(pixel_limit) from None
    except Exception:  # any decoder failure on untrusted bytes is a damaged image
        raise _damaged_image() from None
    return out.getvalue(), result_type


def _plain_pixels(image: Image.Image, *, keep_alpha: bool) -> Image.Image:
    if image.mode == "I" or image.mode.startswith("I;16"):  # 16-bit grey: scale, not clip
        image = image.convert("I").point(lambda v: v / 256).convert("L")
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
    grey = image.mode in ("1", "L")
    if has_alpha and keep_alpha:
        return image.convert("RGBA")
    if has_alpha:
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("L" if grey else "RGB")


# --- storing -------------------------------------------------------------------------------


def _storage_name(file_id: uuid.UUID, when: Any) -> str:
    return f"{PRIVATE_DIR}/{when:%Y}/{when:%m}/{file_id}.bin"


def store_file(
    checked: CheckedUpload | bytes,
    *,
    purpose: str,
    created_by: Any = None,
    original_name: str = "",
    content_type: str | None = None,
) -> StoredFile:
    """Encrypt and store a checked upload (or bytes the platform made itself).

    Plain ``bytes`` need ``content_type``, and must be of that type by their own magic
    bytes. The blob is written first and removed again if the row cannot be saved. If an
    enclosing transaction rolls back later, the blob stays behind unreferenced (encrypted);
    ``remove_orphaned_files`` deletes such blobs once they are an hour old.
    """
    if isinstance(checked, CheckedUpload):
        data, ctype = checked.data, checked.content_type
        name = original_name or checked.original_name
    else:
        if content_type is None:
            raise TypeError("store_file(bytes) needs content_type")
        data, ctype, name = bytes(checked), content_type, original_name
        if sniff(data) != ctype:
            raise ValueError(f"the bytes are not {ctype}")
    if not data:
        raise ValueError("nothing to store")
    now = timezone.now()
    file_id = uuid.uuid4()
    stored = StoredFile(
        id=file_id,
        purpose=purpose,
        content_type=ctype,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        original_name=safe_name(name, ctype),
        storage_name=_storage_name(file_id, now),
        created_at=now,
        created_by=created_by if getattr(created_by, "is_authenticated", False) else None,
    )
    stored.full_clean()
    stored.storage_name = default_storage.save(
        stored.storage_name, ContentFile(encrypt_bytes(data))
    )
    try:
        with transaction.atomic():
            stored.save(force_insert=True)
    except BaseException:
        default_storage.delete(stored.storage_name)
        raise
    return stored


def read_file(stored: StoredFile) -> bytes:
    """The plain bytes of a stored file, verified against its size and SHA-256."""
    try:
        with default_storage.open(stored.storage_name, "rb") as fh:
            token = fh.read()
    except FileNotFoundError as exc:
        raise FileIntegrityError(f"stored file {stored.pk}: the blob is missing") from exc
    try:
        plain = decrypt_bytes(token)
    except InvalidToken as exc:
        raise FileIntegrityError(
            f"stored file {stored.pk}: the blob was changed or its key is gone"
        ) from exc
    digest = hashlib.sha256(plain).hexdigest()
    if len(plain) != stored.size or not hmac.compare_digest(digest, stored.sha256):
        raise FileIntegrityError(f"stored file {stored.pk}: content does not match its checksum")
    return plain


def delete_file(stored: StoredFile) -> None:
    """Delete the row now and the blob when the transaction commits (both or neither)."""
    name = stored.storage_name
    with transaction.atomic():
        StoredFile.objects.filter(pk=stored.pk).delete()
        transaction.on_commit(lambda: default_storage.delete(name))


def remove_orphaned_files(*, older_than: timedelta = timedelta(hours=1)) -> int:
    """Delete blobs under ``private/`` that no row refers to; returns how many.

    Only blobs older than ``older_than`` are touched, so a file whose row is still in an
    open transaction is left alone.
    """
    if not default_storage.exists(PRIVATE_DIR):
        return 0
    cutoff = timezone.now() - older_than
    removed = 0
    years, _files = default_storage.listdir(PRIVATE_DIR)
    for year in years:
        months, _files = default_storage.listdir(f"{PRIVATE_DIR}/{year}")
        for month in months:
            folder = f"{PRIVATE_DIR}/{year}/{month}"
            _dirs, files = default_storage.listdir(folder)
            names = [f"{folder}/{f}" for f in files]
            known: set[str] = set()
            for i in range(0, len(names), 500):
                known.update(
                    StoredFile.objects.filter(storage_name__in=names[i : i + 500]).values_list(
                        "storage_name", flat=True
                    )
                )
            for name in names:
                if name in known or default_storage.get_modified_time(name) > cutoff:
                    continue
                default_storage.delete(name)
                removed += 1
    return removed


# --- serving -------------------------------------------------------------------------------


def content_disposition(name: str, *, inline: bool) -> str:
    """``attachment; filename="cv.pdf"``, plus ``filename*`` (RFC 5987) for other names."""
    kind = "inline" if inline else "attachment"
    fallback = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    fallback = re.sub(r'[^\x20-\x7e]|["\\]', "_", fallback).strip() or "file"
    header = f'{kind}; filename="{fallback}"'
    if fallback != name:
        header += f"; filename*=UTF-8''{quote(name, safe='')}"
    return header


def file_response(stored: StoredFile, *, inline: bool) -> HttpResponse:
    """Serve a stored file to a view that has already decided the viewer may see it.

    ``inline`` shows images in the page; PDFs are always downloaded (attachment). The
    policy headers keep browsers from guessing another type, caching the file, or running
    anything in it even when it is opened directly.
    """
    data = read_file(stored)
    show_inline = inline and stored.content_type in IMAGE_TYPES
    response = HttpResponse(data, content_type=stored.content_type)
    response["Content-Length"] = str(len(data))
    response["Content-Disposition"] = content_disposition(
        stored.original_name or safe_name("", stored.content_type), inline=show_inline
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return response
