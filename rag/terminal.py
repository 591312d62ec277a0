"""Text for a terminal: escape sequences and control characters from users or documents dropped.

A question, a comment or a document can hold ECMA-48 sequences that a terminal acts on: OSC sets
the window title or (in some terminals) writes the clipboard, CSI moves the cursor or clears the
screen, DCS asks the terminal to answer. Whatever prints such text to a terminal (the CLI,
report.md) passes it through `for_terminal`; JSON it prints, through `json_for_terminal`.
"""

from __future__ import annotations

import re

# A sequence a terminal would act on, whole, so that no parameter text is left behind:
# string controls (OSC, DCS, SOS, PM, APC; 7- or 8-bit) up to their terminator (ST, or BEL for
# OSC), CSI with its parameters, and the other two-byte ESC sequences (ESC c, ESC ( B, ESC 7).
_SEQUENCE = re.compile(
    r"(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)"
    r"|(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|\x1b[ -/]*[0-~]"
)
# What is left: C0 but tab and newline, DEL and C1 (an unterminated sequence loses its
# introducer here, and its text stays readable).
# Bidirectional embeddings, overrides and isolates (U+202A-202E, U+2066-2069) too: they reorder
# what the terminal shows ("Trojan Source"); the marks U+200E/200F and right-to-left text stay.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# In JSON text these can only stand inside strings; json.dumps(ensure_ascii=False) and pydantic
# escape C0 but leave DEL and C1 raw.
_RAW_IN_JSON = re.compile(r"[\x7f-\x9f]")


def for_terminal(text: str) -> str:
    """`text` without escape sequences, control characters (newlines and tabs stay) and
    bidirectional overrides."""
    return _CONTROL.sub("", _SEQUENCE.sub("", text))


def json_for_terminal(json_text: str) -> str:
    """JSON text with DEL and C1 characters written as \\u escapes: the same value, printable."""
    return _RAW_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", json_text)
