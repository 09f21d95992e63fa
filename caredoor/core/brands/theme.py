"""Brand colours: validation, accessible contrast, and the CSS custom properties."""

from __future__ import annotations

import re

HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
DARK_TEXT = "#111827"
LIGHT_TEXT = "#ffffff"


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4


def luminance(hex_colour: str) -> float:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def readable_text_on(background: str) -> str:
    """The text colour (near-black or white) with the higher contrast on ``background``."""
    if contrast(background, DARK_TEXT) >= contrast(background, LIGHT_TEXT):
        return DARK_TEXT
    return LIGHT_TEXT


def css_variables(primary: str, accent: str) -> dict[str, str]:
    return {
        "--brand-primary": primary,
        "--brand-on-primary": readable_text_on(primary),
        "--brand-accent": accent,
        "--brand-on-accent": readable_text_on(accent),
    }
