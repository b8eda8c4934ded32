"""Login and consent forms: fill the live page's form (read by oauthtrace.html_forms) that the recording submitted.

What the user typed (user name, password, a consent choice) comes from the recording (or the environment, for
secrets); what the server put in the page (CSRF token, echoed state, a session handle in a hidden input) comes
from the live page, since the recorded values are stale.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from oauthtrace.html_forms import Form
from oauthtrace.model import Pairs


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


def fill(form: Form, recorded: Pairs, secret_for) -> tuple[Pairs, list[str]]:
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
