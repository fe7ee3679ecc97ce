"""Formatting shared by the text report and the dashboard: numbers for people, and data
text made safe to show.

Both renderers (:mod:`scripts.report_text`, :mod:`scripts.dashboard`) import this
module and :mod:`scripts.report_data`, never each other.

Data text (titles, genres, countries, advertisers, ids) is hostile until cleaned:
:func:`clean_text` drops control characters (C0, DEL, C1) as line breaks would break a
table, and the bidirectional-override and -isolate marks (U+202A–U+202E,
U+2066–U+2069, U+200E/U+200F, U+061C) that would reorder what a reader sees ("Trojan
Source"); :func:`cut` then bounds its width with an ellipsis, so a 20,000-character
country is one short cell. HTML escaping is the dashboard's own, on top of this.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

Row = dict[str, Any]

WIDTH = 100  # text-report line width for rules and wrapped findings
TITLE_WIDTH = 34  # longest title shown before it is cut with an ellipsis
NAME_WIDTH = 16  # genres, countries, plans, device types, placements in narrow columns
TEXT_MAX = 200  # hard cap of any data text, even where a column may be wide (tooltips)
TOP_ALERTS = 10  # pacing alerts listed in full
PARTIAL_MARK = "*"  # marks a partial day's rows and incomplete retention cells
ELLIPSIS = "…"
MISSING = "–"

# line breaks, tabs, other C0 controls, DEL and the C1 controls: shown as a space
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# bidi embeddings/overrides, isolates and the invisible direction marks: dropped
_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")

PACING_INDEX_NOTE = (
    "pacing index = (spend / budget) / (days elapsed / flight days): 1.00 spends exactly on "
    "schedule; below 0.90 is under-pacing, above 1.10 over-pacing."
)

# ------------------------------------------------------------------ data text


def clean_text(text: object) -> str:
    """Data text on one line with nothing that moves or hides characters: controls and
    line breaks become one space, bidi controls are removed, runs of spaces collapse.
    ``None`` is ``–``."""
    if text is None:
        return MISSING
    return " ".join(_CONTROL.sub(" ", _BIDI.sub("", str(text))).split())


def cut(text: object, width: int = TITLE_WIDTH) -> str:
    """:func:`clean_text`, then at most ``width`` characters: longer text ends in ``…``."""
    text = clean_text(text)
    return text if len(text) <= width else text[: width - 1] + ELLIPSIS


def one_line(text: object) -> str:
    """Cleaned data text capped at TEXT_MAX characters (for sentences and tooltips)."""
    return cut(text, TEXT_MAX)


def plural(count: int, noun: str, plural_noun: str | None = None) -> str:
    """``1 day``, ``2 days``; ``count`` with thousands separators."""
    return f"{count:,} {noun if count == 1 else (plural_noun or noun + 's')}"


# ------------------------------------------------------------------ numbers


def fmt_int(value: int | float | None) -> str:
    return MISSING if value is None else f"{int(value):,}"


def fmt_num(value: float | None, digits: int = 1) -> str:
    return MISSING if value is None else f"{value:,.{digits}f}"


def fmt_hours(value: float | None) -> str:
    return MISSING if value is None else f"{value:,.1f} h"


def fmt_pct(value: float | None, digits: int = 1) -> str:
    """A fraction (0–1) as a percentage."""
    return MISSING if value is None else f"{100 * value:.{digits}f}%"


def fmt_usd(value: float | None) -> str:
    if value is None:
        return MISSING
    return f"-${-value:,.2f}" if value < 0 else f"${value:,.2f}"


def fmt_change(value: float | None) -> str:
    """A relative change (0.123 → ``+12.3%``); ``n/a`` without a base."""
    if value is None:
        return "n/a"
    return f"{100 * value:+.1f}%"


def fmt_ms(value: float | None) -> str:
    return MISSING if value is None else f"{int(value):,} ms"


def ratio(num: float | None, den: float | None) -> float | None:
    return None if not den or num is None else num / den


# ------------------------------------------------------------------ plain-text layout


@dataclass(frozen=True)
class Col:
    """A text-table column: header, how to get the cell text, alignment."""

    header: str
    cell: Callable[[Row], str]
    align: str = ">"  # numbers right-aligned; text uses "<"


def render_table(rows: Sequence[Row], cols: Sequence[Col], indent: str = "  ") -> list[str]:
    """Aligned plain-text table (header, rule, rows). Every cell is cleaned and capped
    at TEXT_MAX, so no data value can break a line or stretch a column without bound."""
    cells = [[one_line(c.cell(r)) for c in cols] for r in rows]
    widths = [max([len(c.header)] + [len(row[i]) for row in cells]) for i, c in enumerate(cols)]

    def line(values: Sequence[str]) -> str:
        return indent + "  ".join(f"{v:{c.align}{w}}" for v, c, w in zip(values, cols, widths)).rstrip()

    out = [line([c.header for c in cols]), indent + "  ".join("-" * w for w in widths)]
    out += [line(row) for row in cells]
    if not rows:
        out.append(indent + "(no rows)")
    return out


def wrap(text: str, indent: str = "  ", bullet: str = "- ", width: int = WIDTH) -> list[str]:
    """Wrap a sentence at ``width`` with a hanging indent; a word longer than a line is
    cut so that no line exceeds ``width``."""
    room = width - len(indent) - len(bullet) - 1
    words = [w if len(w) <= room else w[: room - 1] + ELLIPSIS for w in text.split()]
    lines, current = [], indent + bullet
    for word in words:
        if len(current) + len(word) + 1 > width and current.strip() not in ("", bullet.strip()):
            lines.append(current.rstrip())
            current = indent + " " * len(bullet)
        current += word + " "
    lines.append(current.rstrip())
    return lines
