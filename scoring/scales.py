"""Read the PM's select values against the policy's scales: lenient about spelling, never a guess.

"10", "10.0" and "10 – all pilots" are all Reach 10; "80%", "80" and "0.8" are Confidence 80 %; Effort is a
T-shirt size or a plain positive number of person-weeks ("4", "2.5", "4 pw"). Anything else (Reach "7", Impact
"huge", Effort "-1") is an `InputProblem` that names the input and the allowed values: the row gets no score.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

_NUMBER = re.compile(r"\s*(\d+(?:\.\d+)?|\.\d+)")
_WORD = re.compile(r"\s*([A-Za-z]+)")
_EFFORT_UNIT = re.compile(r"\s*(?:pw|person[- ]?weeks?|weeks?|wks?|w)\b", re.IGNORECASE)
# After the value, a label may follow ("10 – all pilots", "XL (consider breaking down)"), glued text may not.
_TAIL_SEPARATORS = " \t-–—:(/|"  # the en dash is what Notion users type
_TOLERANCE = 1e-9

# The seed's meaning of each default scale value, shown in the Score Note next to the number.
REACH_MEANING: dict[float, str] = {
    10: "all enterprise pilots + all trial users",
    5: "all enterprise pilots or all trial users",
    3: "multiple enterprise pilots",
    1: "a single customer",
    0.5: "internal/speculative",
}
IMPACT_MEANING: dict[float, str] = {3: "massive", 2: "high", 1: "medium", 0.5: "low"}
CONFIDENCE_MEANING: dict[float, str] = {
    1.0: "data from multiple sources",
    0.8: "strong signal from 2+ customers",
    0.5: "some signal, unvalidated",
    0.2: "speculative",
}


@dataclass(frozen=True)
class Parsed:
    """A valid input: its number and the canonical label the note shows ("L", "80%", "4 pw")."""

    value: float
    label: str


@dataclass(frozen=True)
class InputProblem:
    """An input the scorer will not guess at: which one, what the PM typed, and what is allowed."""

    input: str
    raw: str
    allowed: str

    def message(self) -> str:
        return f"{self.input} {self.raw!r} is not valid: use {self.allowed}"


def num(value: float) -> str:
    """Short number for notes: 6 -> "6", 1.5 -> "1.5", 0.8 -> "0.8" (at most 2 decimals)."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in {"", "-0"} else text


def round1(value: float) -> float:
    """Round half up to one decimal, as the seed rounds its RICE table (2.666 -> 2.7, 0.25 -> 0.3)."""
    return float(Decimal(repr(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def fmt1(value: float) -> str:
    return f"{round1(value) + 0.0:.1f}"  # + 0.0 turns -0.0 into 0.0


def _tail_ok(rest: str) -> bool:
    return not rest.strip() or rest[0] in _TAIL_SEPARATORS


def _leading_number(raw: str) -> tuple[float, str] | None:
    """The number a value starts with and the rest, if what follows is a separator (or nothing)."""
    match = _NUMBER.match(raw)
    if match is None:
        return None
    return float(match.group(1)), raw[match.end() :]


def _exact_key(scale: dict[str, float], raw: str) -> str | None:
    wanted = raw.strip().casefold()
    return next((key for key in scale if key.strip().casefold() == wanted), None)


def _leading_key(scale: dict[str, float], raw: str) -> str | None:
    """ "XL – consider breaking down" -> "XL"; "High (many users)" -> "High"."""
    match = _WORD.match(raw)
    if match is None or not _tail_ok(raw[match.end() :]):
        return None
    return _exact_key(scale, match.group(1))


def key_for_value(scale: dict[str, float], value: float) -> str | None:
    """The scale's label for a number (10 -> "10", 0.8 -> "80%"), or None when the scale has no such step."""
    return next((key for key, step in scale.items() if abs(step - value) < _TOLERANCE), None)


def allowed_values(scale: dict[str, float]) -> str:
    return ", ".join(scale)


def parse_step(name: str, raw: str, scale: dict[str, float]) -> Parsed | InputProblem:
    """Reach or Impact: a scale label, or a number equal to one of the scale's steps."""
    key = _exact_key(scale, raw) or _leading_key(scale, raw)
    if key is not None:
        return Parsed(scale[key], key)
    leading = _leading_number(raw)
    if leading is not None and _tail_ok(leading[1]):
        key = key_for_value(scale, leading[0])
        if key is not None:
            return Parsed(scale[key], key)
    return InputProblem(name, raw, f"one of {allowed_values(scale)}")


def parse_confidence(raw: str, scale: dict[str, float]) -> Parsed | InputProblem:
    """ "80%", "80" and "0.8" are the same step; a number above 1 is read as a percentage."""
    key = _exact_key(scale, raw)
    if key is not None:
        return Parsed(scale[key], key)
    leading = _leading_number(raw)
    if leading is not None:
        value, rest = leading
        is_percent = rest.lstrip().startswith("%")
        if is_percent:
            rest = rest.lstrip()[1:]
        if _tail_ok(rest):
            fraction = value / 100 if is_percent or value > 1 else value
            key = key_for_value(scale, fraction)
            if key is not None:
                return Parsed(scale[key], key)
    return InputProblem("Confidence", raw, f"one of {allowed_values(scale)}")


def parse_effort(raw: str, scale: dict[str, float]) -> Parsed | InputProblem:
    """A T-shirt size from the scale, or a plain positive number of person-weeks ("4", "2.5", "4 pw")."""
    key = _exact_key(scale, raw) or _leading_key(scale, raw)
    if key is not None:
        return Parsed(scale[key], key)
    leading = _leading_number(raw)
    if leading is not None:
        value, rest = leading
        unit = _EFFORT_UNIT.match(rest)
        if unit is not None:
            rest = rest[unit.end() :]
        if value > 0 and _tail_ok(rest):
            return Parsed(value, f"{num(value)} pw")
    return InputProblem("Effort", raw, f"one of {allowed_values(scale)} or a positive number of person-weeks (e.g. 4)")


def parse_ice(name: str, raw: str, scale: dict[str, float]) -> Parsed | InputProblem:
    """ICE inputs (seed 003) are High/Medium/Low, in any case, optionally followed by a label."""
    key = _exact_key(scale, raw) or _leading_key(scale, raw)
    if key is not None:
        return Parsed(scale[key], key)
    return InputProblem(name, raw, f"one of {allowed_values(scale)}")
