"""Front matter: `key: value` lines between `---` lines at the top of a
Markdown file, as Jekyll, Hugo and Obsidian write them. They become the
document's metadata (searchable with metadata filters) and are left out of its
text; `title` names the document.

Only flat `key: value` pairs are read (nested YAML, lists and comments are
skipped), so no YAML library is involved: values are strings, as all metadata
is.
"""

from __future__ import annotations

import re

MAX_LINES = 100
MAX_KEYS = 32
MAX_VALUE = 1000
KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
RESERVED = frozenset({"format"})  # set by the loader
_PAIR = re.compile(r"^([^:\s][^:]*):[ \t]*(.*?)[ \t]*$")


def split(text: str) -> tuple[dict[str, str], str]:
    """The front matter's pairs and the text after it; ({}, text) without one."""
    lines = text.split("\n", MAX_LINES + 1)
    if not lines or lines[0].strip() != "---":
        return {}, text
    for end in range(1, min(len(lines), MAX_LINES + 1)):
        if lines[end].strip() in ("---", "..."):
            parts = text.split("\n", end + 1)
            body = parts[end + 1] if len(parts) > end + 1 else ""
            return _pairs(lines[1:end]), body.lstrip("\n")
    return {}, text


def render(metadata: dict[str, str]) -> str:
    """Front matter holding `metadata` (keys and values checked by `check`)."""
    lines = [f"{key}: {value}" for key, value in metadata.items()]
    return "---\n" + "\n".join(lines) + "\n---\n\n"


def check(metadata: dict[str, str]) -> str | None:
    """What is wrong with `metadata` as front matter, or None."""
    if len(metadata) > MAX_KEYS:
        return f"{len(metadata)} metadata keys is over {MAX_KEYS}"
    for key, value in metadata.items():
        if not KEY.fullmatch(key) or key in RESERVED:
            return f"metadata key {key!r} is not allowed (letters, digits, '_', '.', '-')"
        if "\n" in value or "\r" in value or len(value) > MAX_VALUE:
            return f"metadata value of {key!r} must be one line of at most {MAX_VALUE} characters"
    return None


def _pairs(lines: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in lines:
        match = _PAIR.match(line)
        if match is None or line.startswith((" ", "\t", "#", "-")):
            continue
        key, value = match.group(1).strip(), _unquoted(match.group(2))
        if KEY.fullmatch(key) and key not in RESERVED and value and len(found) < MAX_KEYS:
            found[key] = value[:MAX_VALUE]
    return found


def _unquoted(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value
