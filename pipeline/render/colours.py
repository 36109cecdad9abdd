"""Brand colours made safe to read: WCAG contrast ratios, and darkening a colour until text on it reads."""

from __future__ import annotations

import re

_HEX = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")

#: WCAG 2.x AA for normal text.
MIN_CONTRAST = 4.5


def parse_hex(colour: str) -> tuple[int, int, int] | None:
    colour = colour.strip()
    if not _HEX.match(colour):
        return None
    digits = colour[1:]
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


def to_hex(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def luminance(rgb: tuple[int, int, int]) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: str, b: str) -> float:
    ra, rb = parse_hex(a), parse_hex(b)
    if ra is None or rb is None:
        raise ValueError(f"not a hex colour: {a if ra is None else b!r}")
    la, lb = sorted((luminance(ra), luminance(rb)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def readable(
    colour: str, against: str = "#ffffff", *, fallback: str = "#0b4f6c", minimum: float = MIN_CONTRAST
) -> tuple[str, str | None]:
    """`colour`, darkened until its contrast with `against` reaches `minimum`; the second value explains a
    change (4.5 for text, 3 for borders and other non-text marks, as WCAG 2.x AA asks).

    Brand colours come from sources.yaml, where a pale colour would make white header text or links on
    white unreadable, so render corrects them and says so instead of failing.
    """
    rgb = parse_hex(colour)
    if rgb is None:
        return fallback, f"colour {colour!r} is not #rgb or #rrggbb; used {fallback}"
    if contrast_ratio(colour, against) >= minimum:
        return to_hex(rgb), None
    shade = rgb
    for _ in range(40):
        shade = (int(shade[0] * 0.9), int(shade[1] * 0.9), int(shade[2] * 0.9))
        if contrast_ratio(to_hex(shade), against) >= minimum:
            break
    fixed = to_hex(shade)
    return fixed, f"colour {colour} has too little contrast against {against}; darkened to {fixed}"
