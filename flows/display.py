"""Client-supplied strings as they may appear in her alerts and pages: one line, capped, inert.

A client chooses their own name (Telegram profile, WhatsApp profile, the web chat's field) and
every word they write. In her alert a name with a line break could plant a line of its own («…
Открыть: https://evil.example/…» above priem's real link), and a right-to-left override makes
«\u202egnp.exe» read as "exe.png". So what a client typed is shown as one line: control, format
and bidi characters dropped, runs of whitespace made one space, and cut to a length.
"""

import unicodedata

# Unicode categories that draw nothing but change what is drawn around them: controls (line
# breaks, escapes), format characters (bidi overrides and isolates, zero-width joiners), and the
# line and paragraph separators.
_INERT = frozenset({"Cc", "Cf", "Zl", "Zp", "Co", "Cs", "Cn"})


def one_line(text: str, limit: int) -> str:
    """`text` as one inert line of at most `limit` characters (an ellipsis marks a cut)."""
    kept = "".join(" " if ch.isspace() else ch for ch in text if ch.isspace() or unicodedata.category(ch) not in _INERT)
    line = " ".join(kept.split())
    return line if len(line) <= limit else line[: max(limit - 1, 0)].rstrip() + "…"
