"""A practitioner's message as a command: `/queue planned 2`, `/done 12 https://…`, `/restrict @anna 3d spam`.

Forgiving by design: any case, a `@botname` suffix, Cyrillic look-alike slashes are not needed
because Telegram only makes `/` commands clickable; a leading space or a newline are fine.
"""

import re
from dataclasses import dataclass

NAMES = (
    "help",
    "queue",
    "next",
    "paid",
    "done",
    "reply",
    "history",
    "restrict",
    "unrestrict",
    "noshow",
    "reschedule",
    "slots",
    "pause",
    "resume",
    "stats",
    "refund",
    "invoice",
    "forget",
    "export",
)
ALIASES = {"start": "help", "q": "queue", "h": "help", "unblock": "unrestrict", "block": "restrict"}

_COMMAND = re.compile(r"^\s*/(?P<name>[A-Za-z_]+)(?:@\w+)?(?:\s+(?P<args>.*))?$", re.DOTALL)


@dataclass(frozen=True)
class Command:
    name: str  # one of NAMES, or the unknown word she typed
    args: str  # everything after the name, stripped (may span lines: /reply texts do)
    known: bool = True

    @property
    def words(self) -> list[str]:
        return self.args.split()


def parse(text: str) -> Command | None:
    """The command in `text`, or None when it is no command at all."""
    match = _COMMAND.match(text or "")
    if match is None:
        return None
    name = match["name"].lower()
    name = ALIASES.get(name, name)
    return Command(name=name, args=(match["args"] or "").strip(), known=name in NAMES)


def looks_like_practitioner_command(text: str) -> bool:
    """Someone typed one of her commands (logged when it is not her)."""
    command = parse(text)
    if command is None or not command.known or command.name == "help":
        return False
    return not (command.name == "forget" and not command.args)  # a client's own /forget: their erasure request
