"""The text of an uncompressed PDF as fpdf2 writes it, for tests: each text object's
strings decoded through its font's ToUnicode map (embedded TrueType subsets), or as Latin-1
(core fonts). One line per text object (``BT ... ET``)."""

from __future__ import annotations

import re

OBJECT = re.compile(rb"(\d+) 0 obj(.*?)endobj", re.S)
FONT_REF = re.compile(rb"/(F\d+) (\d+) 0 R")
TO_UNICODE = re.compile(rb"/ToUnicode (\d+) 0 R")
BFCHAR = re.compile(rb"beginbfchar(.*?)endbfchar", re.S)
BFRANGE = re.compile(rb"beginbfrange(.*?)endbfrange", re.S)
HEX_PAIR = re.compile(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>")
HEX_RANGE = re.compile(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>")
TOKEN = re.compile(rb"/(F\d+)\s+[\d.]+\s+Tf|(\((?:\\.|[^\\)])*\))\s*Tj|\[(.*?)\]\s*TJ|\bET\b", re.S)
LITERAL = re.compile(rb"\((?:\\.|[^\\)])*\)", re.S)
ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _unescape(literal: bytes) -> bytes:
    body = literal[1:-1]
    out = bytearray()
    i = 0
    while i < len(body):
        char = body[i : i + 1]
        if char != b"\\":
            out += char
            i += 1
            continue
        following = body[i + 1 : i + 2]
        octal = re.match(rb"[0-7]{1,3}", body[i + 1 : i + 4])
        if octal:
            out.append(int(octal.group(), 8))
            i += 1 + len(octal.group())
        else:
            out += ESCAPES.get(following, following)
            i += 2
    return bytes(out)


def _cmap(stream: bytes) -> dict[int, str]:
    mapping: dict[int, str] = {}
    for block in BFCHAR.findall(stream):
        for src, dst in HEX_PAIR.findall(block):
            mapping[int(src, 16)] = bytes.fromhex(dst.decode()).decode("utf-16-be")
    for block in BFRANGE.findall(stream):
        for first, last, dst in HEX_RANGE.findall(block):
            start = int(dst, 16)
            for offset, code in enumerate(range(int(first, 16), int(last, 16) + 1)):
                mapping[code] = chr(start + offset)
    return mapping


def pdf_text(data: bytes) -> str:
    objects = {int(num): body for num, body in OBJECT.findall(data)}
    maps: dict[bytes, dict[int, str] | None] = {}
    for name, num in FONT_REF.findall(data):
        font = objects.get(int(num), b"")
        ref = TO_UNICODE.search(font)
        if ref is None:
            # A Type0 font keeps its ToUnicode on itself; a core font has none.
            maps[name] = None
        else:
            maps[name] = _cmap(objects.get(int(ref.group(1)), b""))
    lines: list[str] = []
    current: list[str] = []
    font_map: dict[int, str] | None = None

    def decode(raw: bytes) -> str:
        if font_map is None:
            return raw.decode("latin-1")
        codes = [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]
        return "".join(font_map.get(code, "\ufffd") for code in codes)

    for match in TOKEN.finditer(data):
        font, single, array = match.groups()
        if font is not None:
            font_map = maps.get(font)
        elif single is not None:
            current.append(decode(_unescape(single)))
        elif array is not None:
            current.extend(decode(_unescape(part)) for part in LITERAL.findall(array))
        else:  # ET
            if current:
                lines.append("".join(current))
            current = []
    return "\n".join(lines)
