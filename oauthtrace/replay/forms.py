"""Login and consent forms: fill the live page's form (read by oauthtrace.html_forms) that the recording submitted.

What the user typed (user name, password, a consent choice) comes from the recording (or the environment, for
secrets); what the server put in the page (CSRF token, echoed state, a session handle in a hidden input) comes
from the live page, since the recorded values are stale. A typed field the recording holds only redacted takes
the live page's own value for it when the page fills one in — what a user pressing the button would send.
"""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import urlsplit

from oauthtrace.html_forms import Form
from oauthtrace.model import Pairs
from oauthtrace.replay.secrets import FROM_PAGE


class Filled(NamedTuple):
    fields: Pairs  # what to submit
    missing: list[str]  # typed fields nothing gave a value for
    from_page: list[str]  # typed fields recorded redacted that took the live page's value


def choose(forms: list[Form], recorded_path: str, recorded_names: list[str]) -> Form | None:
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


def fill(form: Form, recorded: Pairs, pick) -> Filled:
    """The fields to submit, the typed fields that had no value, and those the live page filled.

    `pick(name, recorded_value, page_value)` returns (value, where it came from) for a field the user typed
    (Secrets.pick: value None when a needed secret is missing; FROM_PAGE when the page's own value stands in for
    a redacted one). Recorded order is kept; hidden fields new on the live page are added after.
    """
    hidden = form.hidden
    offered: dict[str, str] = {}  # what the page fills each typed field with (its first field of that name)
    for f in form.fields:
        if f.kind != "hidden":
            offered.setdefault(f.name, f.value)
    filled = Filled([], [], [])
    for name, value in recorded:
        if name in hidden:
            filled.fields.append((name, hidden[name]))
            continue
        typed, source = pick(name, value, offered.get(name))
        if typed is None:
            filled.missing.append(name)
            typed = ""
        elif source == FROM_PAGE and name not in filled.from_page:
            filled.from_page.append(name)
        filled.fields.append((name, typed))
    sent = {name for name, _ in recorded}
    filled.fields.extend((f.name, f.value) for f in form.fields if f.kind == "hidden" and f.name not in sent)
    return filled
