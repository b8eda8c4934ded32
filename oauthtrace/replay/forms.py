"""Login and consent forms: read the live page's forms and fill the one the recording submitted.

What the user typed (user name, password, a consent choice) comes from the recording (or the environment, for
secrets); what the server put in the page (CSRF token, echoed state, a session handle in a hidden input) comes
from the live page, since the recorded values are stale.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from oauthtrace.model import Pairs

MAX_PAGE = 2_000_000


@dataclass
class Field:
    name: str
    value: str
    kind: str  # input type ("hidden", "text", "password", "submit" …), "select" or "textarea"


@dataclass
class LiveForm:
    action: str  # absolute
    method: str
    enctype: str
    fields: list[Field] = field(default_factory=list)

    @property
    def hidden(self) -> dict[str, str]:
        return {f.name: f.value for f in self.fields if f.kind == "hidden"}

    def names(self) -> set[str]:
        return {f.name for f in self.fields}


def page_forms(html: str, page_url: str) -> list[LiveForm]:
    parser = _Forms(page_url)
    try:
        parser.feed(html[:MAX_PAGE])
        parser.close()
    except Exception:  # a hostile or broken page: whatever was read so far is what there is
        pass
    return parser.forms


def choose(forms: list[LiveForm], recorded_path: str, recorded_names: list[str]) -> LiveForm | None:
    """The live form that stands for the recorded submission: same action path, else the most fields in common."""
    if not forms:
        return None
    same_path = [form for form in forms if urlsplit(form.action).path == recorded_path]
    candidates = same_path or forms
    wanted = set(recorded_names)
    best = max(candidates, key=lambda form: len(form.names() & wanted))
    if not same_path and not best.names() & wanted:
        return None
    return best


def fill(form: LiveForm, recorded: Pairs, secret_for) -> tuple[Pairs, list[str]]:
    """The fields to submit, and the names of secrets that had no value.

    `secret_for(name, recorded_value)` returns the value to send for a field the user typed (None when a needed
    secret is missing). Recorded order is kept; hidden fields new on the live page are added after.
    """
    hidden = form.hidden
    out: Pairs = []
    missing: list[str] = []
    for name, value in recorded:
        if name in hidden:
            out.append((name, hidden[name]))
            continue
        typed = secret_for(name, value)
        if typed is None:
            missing.append(name)
            typed = ""
        out.append((name, typed))
    sent = {name for name, _ in recorded}
    out.extend((f.name, f.value) for f in form.fields if f.kind == "hidden" and f.name not in sent)
    return out, missing


class _Forms(HTMLParser):
    def __init__(self, page_url: str):
        super().__init__(convert_charrefs=True)
        self.page_url = page_url
        self.forms: list[LiveForm] = []
        self._form: LiveForm | None = None
        self._select: str | None = None
        self._select_value: str | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self._form = LiveForm(urljoin(self.page_url, a.get("action") or self.page_url),
                                  (a.get("method") or "GET").upper(), a.get("enctype") or "")
            self.forms.append(self._form)
            return
        if self._form is None or not a.get("name"):
            if tag == "option" and self._select is not None:
                self._option(a)
            return
        kind = a.get("type", "text").lower() if tag == "input" else tag
        if tag == "input" and kind in ("checkbox", "radio") and "checked" not in a:
            return
        if tag == "input" and kind not in ("submit", "image", "button", "reset", "file"):
            self._form.fields.append(Field(a["name"], a.get("value", "on" if kind in ("checkbox", "radio") else ""), kind))
        elif tag == "select":
            self._select, self._select_value = a["name"], None
        elif tag == "textarea":
            self._textarea, self._text = a["name"], []

    def _option(self, a: dict) -> None:
        if self._select_value is None or "selected" in a:
            self._select_value = a.get("value", "")

    def handle_data(self, data):
        if self._textarea is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select" and self._select is not None and self._form is not None:
            self._form.fields.append(Field(self._select, self._select_value or "", "select"))
            self._select = None
        elif tag == "textarea" and self._textarea is not None and self._form is not None:
            self._form.fields.append(Field(self._textarea, "".join(self._text), "textarea"))
            self._textarea = None
