"""Replace many known strings in large texts in one linear pass: the redactor's net for secrets met in free text.

Secrets are nearly always tokens — runs of URL-safe and base64 characters standing between delimiters (`=`, `&`, `"`,
a space, `<`). So the text is cut into such runs and each run is looked up in a dict, which costs the same whether
an export holds ten secrets or fifty thousand. A run that is not itself a secret is cut at `%XX` escapes and at
`/` and `+`, to find a code inside a URL that was URL-encoded once more (`return_to=…%3Fcode%3D…`); in binary
bodies, where a token may be glued to its neighbours, it is also searched at every position for long secrets,
through a dict of their first ANCHOR characters. The rare value with other characters (a password with a space,
an HTML- or JSON-escaped form) goes through a regex alternation instead; short ones only as whole words.
"""

from __future__ import annotations

import re
from urllib.parse import quote

_RUN = r"[A-Za-z0-9\-._~+/%]"
_TOKEN = re.compile(r"[A-Za-z0-9\-._~+/%]+")
_ESCAPE = re.compile(r"(%[0-9A-Fa-f]{2})")
_SLASH_PLUS = re.compile(r"[^/+]+")
ANCHOR = 16


class Sweeper:
    def __init__(self, replacements: dict[str, str], *, min_length: int, word_below: int):
        """`replacements`: variant -> replacement. Variants shorter than `min_length` are ignored; odd variants
        shorter than `word_below` only match as whole words."""
        self._min = min_length
        self._tokens: dict[str, str] = {}
        odd: dict[str, str] = {}
        for variant, replacement in replacements.items():
            core = variant.rstrip("=")  # base64 padding is a delimiter for the runs
            if len(core) < min_length:
                continue
            if _TOKEN.fullmatch(core):
                self._tokens.setdefault(core, replacement)
            else:
                odd.setdefault(variant, replacement)
        self._anchors: dict[str, list[str]] = {}
        for core in sorted(self._tokens, key=len, reverse=True):
            if len(core) >= ANCHOR:
                self._anchors.setdefault(core[:ANCHOR], []).append(core)
        self._run = re.compile(_RUN + "{%d,}" % max(min_length, 1))
        self._odd = odd
        self._odd_pattern = _alternation(odd, word_below)
        # Binary bodies: the same search over their latin-1 view, where every byte is one character.
        self._tokens_b = {key: _latin1_view(value) for key, value in self._tokens.items()}
        # Inside a run that is itself URL-encoded (`%3Fcode%3D…`) the replacement goes in URL-encoded too; ASCII, so
        # the same map serves text and binary bodies.
        self._tokens_q = {key: quote(value, safe="") for key, value in self._tokens.items()}
        self._odd_b = {_latin1_view(key): _latin1_view(value) for key, value in odd.items()}
        self._odd_pattern_b = _alternation(self._odd_b, word_below)

    def __bool__(self) -> bool:
        return bool(self._tokens or self._odd)

    def text(self, text: str) -> str:
        return self._sweep(text, self._tokens, self._odd, self._odd_pattern, anchored=False)

    def bytes(self, data: bytes) -> bytes:
        view = data.decode("latin-1")
        return self._sweep(view, self._tokens_b, self._odd_b, self._odd_pattern_b, anchored=True).encode("latin-1")

    def _sweep(self, text: str, tokens: dict, odd: dict, odd_pattern, *, anchored: bool) -> str:
        if odd_pattern is not None:
            text = odd_pattern.sub(lambda match: odd[match.group(0)], text)
        if tokens:
            text = self._run.sub(lambda match: self._token_run(match.group(0), tokens, anchored), text)
        return text

    def _token_run(self, run: str, tokens: dict, anchored: bool) -> str:
        hit = tokens.get(run)
        if hit is not None:
            return hit
        if "%" in run:
            tokens = self._tokens_q
        # Text delimits its tokens; only binary data glues a secret to its neighbours, so only there is it worth
        # looking at every position.
        if anchored and len(run) > ANCHOR and self._anchors:
            run = self._anchored(run, tokens)
        if "%" not in run and "/" not in run and "+" not in run:
            return run
        parts = _ESCAPE.split(run)  # escapes at the odd indices
        for index in range(0, len(parts), 2):
            piece = parts[index]
            if len(piece) < self._min:
                continue
            hit = tokens.get(piece)
            if hit is not None:
                parts[index] = hit
            elif "/" in piece or "+" in piece:
                parts[index] = _SLASH_PLUS.sub(lambda match: tokens.get(match.group(0), match.group(0)), piece)
        return "".join(parts)


    def _anchored(self, run: str, tokens: dict) -> str:
        """Long secrets anywhere inside `run`, found by their first ANCHOR characters."""
        out, start, index, end = [], 0, 0, len(run) - ANCHOR
        while index <= end:
            candidates = self._anchors.get(run[index:index + ANCHOR])
            found = next((c for c in candidates if run.startswith(c, index)), None) if candidates else None
            if found is None:
                index += 1
                continue
            out += [run[start:index], tokens[found]]
            index = start = index + len(found)
        if not out:
            return run
        out.append(run[start:])
        return "".join(out)


def _alternation(forms: dict[str, str], word_below: int):
    """Longest first, so a longer secret wins over one inside it; short forms only between non-alphanumerics."""
    if not forms:
        return None
    ordered = sorted(forms, key=len, reverse=True)
    long_forms = [re.escape(form) for form in ordered if len(form) >= word_below]
    short_forms = [re.escape(form) for form in ordered if len(form) < word_below]
    parts = []
    if long_forms:
        parts.append("(?:" + "|".join(long_forms) + ")")
    if short_forms:
        parts.append("(?<![A-Za-z0-9])(?:" + "|".join(short_forms) + ")(?![A-Za-z0-9])")
    return re.compile("|".join(parts))


def _latin1_view(text: str) -> str:
    return text.encode("utf-8", "surrogatepass").decode("latin-1")
