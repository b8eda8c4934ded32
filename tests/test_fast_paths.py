"""The shortcuts taken for `check` at scale answer exactly what the general path answers.

Each compares a shortcut with the straightforward computation it skips, over seeded random inputs that hit the
edges (schemes in capitals, empty hosts, control characters, BOMs, UTF-16 JSON, escaped member names ...).
"""

from __future__ import annotations

import json
import random
from urllib.parse import urlsplit, urlunsplit

import pytest

from oauthtrace import model, params
from oauthtrace.analysis.rules import scope, state
from oauthtrace.model import Hop
from oauthtrace.store import Store


def _split(url):
    try:
        return urlsplit(url or "")
    except ValueError:
        return urlsplit("")


def _random_urls(seed: int, count: int):
    rng = random.Random(seed)
    prefixes = ["https://", "http://", "HTTP://", "https:", " https://", "ftp://", "", "https:///", "https:////",
                "http://a", "https://x.example/"]
    alphabet = "ab/?#:@.;=&%-_~ 1[]\t\n\x00é" + "HTTPS"
    for _ in range(count):
        yield rng.choice(prefixes) + "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14)))


@pytest.mark.parametrize("url", ["https://as.example/authorize?state=1#x", "http://127.0.0.1:8080", "https://h?q",
                                 "https:///path", "https:////h/p", "HTTPS://Host/P", "https://[::1]:8/p?q",
                                 " https://h/p", "https://h/p\t?q", "https://é.example/p", None, ""])
def test_url_parts_match_urlsplit(url):
    parts = _split(url)
    assert params.base_url(url) == urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    assert params.origin(url) == f"{parts.scheme}://{parts.netloc}"
    assert params.path(url) == (parts.path or "/")


def test_url_parts_match_urlsplit_on_random_urls():
    for url in _random_urls(seed=7, count=20_000):
        parts = _split(url)
        expected = (urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")),
                    f"{parts.scheme}://{parts.netloc}", parts.path or "/")
        assert (params.base_url(url), params.origin(url), params.path(url)) == expected, url


def _json_or_none(body):
    if not body:
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None


@pytest.mark.parametrize("body", [
    b'{"a": 1}', b' \n[1]', b'"x"', b"true", b"null", b"NaN", b"-Infinity", b"12", b"<html>", b"a=1&b=2",
    '{"a": 1}'.encode("utf-16"), "[1]".encode("utf-16-be"), "[1]".encode("utf-32"), b'\xef\xbb\xbf{"a": 1}',
    b"  ", b"\x00", "{}",
])
def test_body_json_matches_json_loads(body):
    assert repr(model._json(body)) == repr(_json_or_none(body))


def test_body_json_matches_json_loads_on_random_bytes():
    rng = random.Random(11)
    alphabet = b' \t\r\n{}[]"tfnNI-01aA<=&\x00\xff\xfe\xef\xbb\xbf,:'
    for _ in range(20_000):
        body = bytes(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))
        assert repr(model._json(body)) == repr(_json_or_none(body)), body


def _scope_problems_the_long_way(value: str) -> list[str]:
    scope._CLEAN_SCOPE, saved = type("Never", (), {"fullmatch": staticmethod(lambda text: None)}), scope._CLEAN_SCOPE
    try:
        return scope.format_problems(value)
    finally:
        scope._CLEAN_SCOPE = saved


def test_scope_format_shortcut_says_what_the_full_check_says():
    rng = random.Random(5)
    samples = ["read write", "openid profile email", "a b a", "a,b c", "x,", " a", "a  b", 'a"b', "é x", "a\\b"]
    samples += ["".join(rng.choice('ab ,"\\é~!') for _ in range(rng.randint(1, 8))) for _ in range(5_000)]
    for value in samples:
        assert scope.format_problems(value) == _scope_problems_the_long_way(value), value


def _members_the_long_way(body: bytes) -> list:
    """Top-level members, duplicates kept, always by a full parse (what state._json_pairs did before)."""
    if not body or not body.lstrip().startswith(b"{"):
        return []
    objects: list = []
    try:
        json.loads(body, object_pairs_hook=lambda members: objects.append(members) or dict(members))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return []
    top = objects[-1] if objects else []
    return [(str(k), v if isinstance(v, str) else json.dumps(v, default=str)) for k, v in top]


def _random_objects(seed: int, count: int):
    rng = random.Random(seed)
    names = ['"code"', '"access_token"', '"a"', '": x"', '"c\\u006fde"', '"\\""', '""']
    values = ['"v"', "1", '{"code": 2}', '[{"a": 1}]', '"x\\":"', '"a"']
    for _ in range(count):
        members = [f"{rng.choice(names)}: {rng.choice(values)}" for _ in range(rng.randint(0, 4))]
        yield ("{" + ", ".join(members) + "}").encode()


@pytest.mark.parametrize("body", [
    b'{"access_token": "a", "access_token": "b"}', b'{"a": {"x": 1}, "b": {"x": 2}}', b'{"a": "v", ": x": 1}',
    b'{"code": "1", "c\\u006fde": "2"}', b'{"error": "x", "error": "y", "n": [{"k": 1}]}', b'{"a": 1}',
    b'{"a": "\\"", "a": 2}', b"[1, 2]", b"{broken",
])
def test_repeated_members_are_found_as_by_a_full_parse(body):
    assert state._repeated(state._json_pairs(body)) == state._repeated(_members_the_long_way(body))


def test_repeated_members_are_found_as_by_a_full_parse_on_random_objects():
    for body in _random_objects(seed=3, count=5_000):
        assert state._repeated(state._json_pairs(body)) == state._repeated(_members_the_long_way(body)), body


def test_hops_read_back_own_their_lists_and_share_their_pairs(tmp_path):
    store = Store.open(tmp_path / "t.db")
    trace_id = store.create_trace("t")
    headers = [("Accept", "text/html"), ("User-Agent", "ua")]
    store.insert_hops([Hop(trace_id=trace_id, seq=n, method="GET", url=f"https://h/{n}?a=1&a=2",
                           query=[("a", "1"), ("a", "2")], req_headers=list(headers)) for n in (1, 2)])
    first, second = store.hops(trace_id)
    assert first.req_headers == second.req_headers == headers and first.query == [("a", "1"), ("a", "2")]
    assert first.req_headers is not second.req_headers  # appending to one hop's headers leaves the other alone
    first.req_headers.append(("X", "1"))
    assert second.req_headers == headers and store.hops(trace_id)[1].req_headers == headers
    assert first.method == "GET" and first.http_version == "HTTP/1.1" and first.form == [] and first.id


def _b64_text_with_both_alphabets(value: str):
    import base64
    import binascii

    if not state._BASE64.fullmatch(value):
        return None
    padded = value + "=" * (-len(value) % 4)
    for decoder in (base64.urlsafe_b64decode, base64.b64decode):
        try:
            return decoder(padded).decode("utf-8")
        except (binascii.Error, ValueError, UnicodeDecodeError):
            continue
    return None


def test_base64_state_is_decoded_as_with_both_alphabets():
    rng = random.Random(13)
    samples = ["eyJhIjoiYiJ9", "L2FwcC9ob21l", "aHR0cHM6Ly94LmV4YW1wbGUvPw", "YWI-Pw", "YWI_Pw", "YWI+Pw=="]
    samples += ["".join(rng.choice("ABCabc019+/-_=") for _ in range(rng.randint(0, 16))) for _ in range(20_000)]
    for value in samples:
        assert state._b64_text(value) == _b64_text_with_both_alphabets(value), value


def test_query_and_fragment_parameters_match_urlsplit_on_random_urls():
    for url in _random_urls(seed=17, count=20_000):
        parts = _split(url)
        assert params.query_pairs(url) == params.parse_pairs(parts.query), url
        assert params.fragment_pairs(url) == params.parse_pairs(parts.fragment), url
    for url in ("https://h/p?a=1\t2#f", "https://[::1]/?a=1", "https://é.example/?a=1", None, ""):
        assert params.query_pairs(url) == params.parse_pairs(_split(url).query), url


def test_relative_locations_resolve_as_urljoin_does():
    from urllib.parse import urljoin

    from oauthtrace.analysis.classify import absolute

    rng = random.Random(19)
    bases = ["https://as.example", "https://as.example/a/b?q#f", "http://h:8/p;x", "HTTPS://h/", "https://[::1]/",
             "https://é.example/x"]
    references = ["/login?ticket=1", "/", "/a/./b", "/a/../b", "/a//b", "/a;p?q", "/a?", "/a?#f", "//other/x",
                  "/a b", "/a\tb", "/é"]
    references += ["/" + "".join(rng.choice("ab/.?#;=% \t") for _ in range(rng.randint(0, 8))) for _ in range(5_000)]
    for base in bases:
        for reference in references:
            assert absolute(base, reference) == urljoin(base, reference).split("#", 1)[0], (base, reference)


def test_a_location_is_read_for_an_authorization_response_as_by_a_full_parse():
    from oauthtrace.analysis.classify import RESPONSE_KEYS, carries_response
    from oauthtrace.analysis.oauth import authz_response_params

    rng = random.Random(23)
    pieces = ["code", "co", "de", "error", "access_token", "id_token", "%63ode", "%", "co\tde", "e\nrror", "=", "&",
              "?", "#", "+", "x", "c+ode"]
    for _ in range(20_000):
        location = rng.choice(["https://c.example/cb", "/cb", "cb"]) + rng.choice(["?", "#", ""]) + "".join(
            rng.choice(pieces) for _ in range(rng.randint(0, 6)))
        hop = Hop(trace_id=1, seq=1, method="GET", url="https://as.example/authorize", status=302, location=location)
        pairs, mode = authz_response_params(hop)
        assert carries_response(hop) == (mode != "none" and any(k in RESPONSE_KEYS for k, _ in pairs)), location


@pytest.mark.parametrize("text", ["[]", ' [["a", "b"]]', '[["a", "b"]] ', '[["é", "\\u00e9"]]', "\ufeff[]", "[1] [2]",
                                  "[1,", ""])
def test_pairs_texts_decode_as_json_loads(text):
    from oauthtrace.store.hop_rows import _json_loads

    def outcome(loads):
        try:
            return loads(text)
        except ValueError as exc:
            return type(exc), str(exc)

    assert outcome(_json_loads) == outcome(json.loads)
