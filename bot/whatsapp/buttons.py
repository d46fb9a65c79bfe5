"""An outbox row's buttons as a Twilio Content API interactive message, inside the 24-hour window.

priem sends every button message through a handful of generic content resources whose texts are
all variables: `twilio/quick-reply` with 1–3 buttons (WhatsApp allows three in a session message),
`twilio/list-picker` with 4–10 items. A button's id is the payload the flows gave it, the same
string Telegram carries as callback data, so a tap comes back as the same `Inbound.payload`.
Pure: no I/O; bot/whatsapp/content.py finds or creates the resources, bot/whatsapp/sender.py
sends them.
"""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

QUICK_REPLY = "twilio/quick-reply"
LIST_PICKER = "twilio/list-picker"
MAX_QUICK_REPLIES = 3  # in a session message; ten are for approved templates only
MAX_LIST_ITEMS = 10
QUICK_REPLY_TITLE = 20
LIST_ITEM_TITLE = 24
LIST_BUTTON_TITLE = 20
BODY_LIMIT = 1024  # both types; a longer text goes out as plain text with its choices listed
ID_LIMIT = 200
VERSION = 1  # part of the resources' names: a new layout gets new resources, never edits old ones


@dataclass(frozen=True)
class Shape:
    """One content resource: its type and how many buttons it holds."""

    type: str
    size: int

    @property
    def friendly_name(self) -> str:
        # Lower case, digits and underscores: the form the console and WhatsApp accept as a name.
        return f"priem_{self.type.removeprefix('twilio/').replace('-', '_')}_{self.size}_v{VERSION}"

    @property
    def first_button_variable(self) -> int:
        # {{1}} is the body; a list picker's own button ("Choose") is {{2}}.
        return 2 if self.type == QUICK_REPLY else 3

    def definition(self, language: str) -> dict[str, Any]:
        """The Content API create request: every text a variable, with a sample for each."""
        first = self.first_button_variable
        pairs = [(f"{{{{{first + 2 * i}}}}}", f"{{{{{first + 2 * i + 1}}}}}") for i in range(self.size)]
        if self.type == QUICK_REPLY:
            types: dict[str, Any] = {"body": "{{1}}", "actions": [{"title": t, "id": i} for t, i in pairs]}
        else:
            types = {"body": "{{1}}", "button": "{{2}}", "items": [{"item": t, "id": i} for t, i in pairs]}
        samples = {"1": "Выберите, пожалуйста", "2": "Выбрать"}
        for n in range(self.size):
            samples[str(first + 2 * n)] = f"Вариант {n + 1}"
            samples[str(first + 2 * n + 1)] = f"choice:{n + 1}"
        return {
            "friendly_name": self.friendly_name,
            "language": language,
            "variables": samples,
            "types": {self.type: types},
        }


@dataclass(frozen=True)
class Interactive:
    shape: Shape
    variables: dict[str, str]

    def content_variables(self) -> str:
        return json.dumps(self.variables, ensure_ascii=False)


def fit(label: str, limit: int) -> str:
    """The label on one line within `limit` characters: cut at a word where that keeps most of it."""
    label = " ".join(label.split())
    if len(label) <= limit:
        return label
    cut = label[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:·-–—") + "…"


def shape_for(count: int) -> Shape | None:
    if 1 <= count <= MAX_QUICK_REPLIES:
        return Shape(QUICK_REPLY, count)
    if MAX_QUICK_REPLIES < count <= MAX_LIST_ITEMS:
        return Shape(LIST_PICKER, count)
    return None


def interactive(
    text: str,
    buttons: Sequence[Mapping[str, str]] | None,
    *,
    list_button: str,
    short_labels: Mapping[str, str] | None = None,
) -> Interactive | None:
    """The message as an interactive one, or None when it must stay plain text.

    Plain text when there are no buttons, more than ten, a button without a payload or label, a
    payload over Twilio's id limit, a body over 1024 characters, or two titles that come out the
    same once fitted (WhatsApp requires distinct titles). `short_labels` (payload → a shorter
    wording) replaces a label that would otherwise be cut.
    """
    body = text.strip()
    shape = shape_for(len(buttons or ()))
    if shape is None or not body or len(body) > BODY_LIMIT:
        return None
    limit = QUICK_REPLY_TITLE if shape.type == QUICK_REPLY else LIST_ITEM_TITLE
    titles: list[str] = []
    ids: list[str] = []
    for button in buttons or ():
        payload, label = (button.get("payload") or "").strip(), (button.get("label") or "").strip()
        if not payload or not label or len(payload) > ID_LIMIT:
            return None
        if len(label) > limit and (short_labels or {}).get(payload):
            label = (short_labels or {})[payload]
        titles.append(fit(label, limit))
        ids.append(payload)
    if len(set(titles)) < len(titles) or len(set(ids)) < len(ids) or not all(titles):
        return None
    variables = {"1": body}
    if shape.type == LIST_PICKER:
        variables["2"] = fit(list_button, LIST_BUTTON_TITLE)
    first = shape.first_button_variable
    for n, (title, payload) in enumerate(zip(titles, ids, strict=True)):
        variables[str(first + 2 * n)] = title
        variables[str(first + 2 * n + 1)] = payload
    return Interactive(shape, variables)
