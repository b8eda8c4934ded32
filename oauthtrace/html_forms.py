"""HTML forms in captured pages: one parser for every layer that reads them.

Login and consent pages (replay fills them), form_post authorization responses (the analysis reads their hidden
inputs, redaction hides the secrets in them), and the demo's built-in user agent all read forms the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin

from oauthtrace.model import Pairs

MAX_PAGE = 2_000_000


@dataclass
class Field:
    name: str
    value: str
    kind: str  # input type ("hidden", "text", "password", "submit" …), "select" or "textarea"


@dataclass
class Form:
    action: str  # absolute
    method: str
    enctype: str
    fields: list[Field] = field(default_factory=list)

    @property
    def hidden(self) -> dict[str, str]:
        return {f.name: f.value for f in self.fields if f.kind == "hidden"}

    def names(self) -> set[str]:
        return {f.name for f in self.fields}


def page_forms(html: str, page_url: str = "") -> list[Form]:
    """The page's forms, actions made absolute against `page_url`; a broken page yields what was read."""
    parser = _Forms(page_url)
    try:
        parser.feed(html[:MAX_PAGE])
        parser.close()
    except Exception:  # a hostile or broken page: whatever was read so far is what there is
        pass
    return parser.forms


def named_inputs(html: str) -> Pairs:
    """(name, value) of every named <input>, inside a form or not (a form_post response, a page to redact)."""
    parser = _Inputs()
    try:
        parser.feed(html[:MAX_PAGE])
        parser.close()
    except Exception:  # html.parser is lenient, but a hostile page must never stop the caller
        pass
    return parser.pairs


class _Inputs(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.pairs: Pairs = []

    def handle_starttag(self, tag, attrs):
        if tag == "input":
            attributes = dict(attrs)
            if attributes.get("name"):
                self.pairs.append((attributes["name"], attributes.get("value") or ""))


class _Forms(HTMLParser):
    def __init__(self, page_url: str):
        super().__init__(convert_charrefs=True)
        self.page_url = page_url
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: str | None = None
        self._select_value: str | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self._form = Form(urljoin(self.page_url, a.get("action") or self.page_url),
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
