"""Hop.resp_json / req_json: the glance that skips json.loads for bodies that cannot be JSON never skips one that is."""

from __future__ import annotations

import json
import random

import pytest
from hops import make_hop

BODIES = [
    b"true", b" false ", b"null", b"NaN", b"-Infinity", b"Infinity", b"\n[1, 2]", b'{"error": "x"}', b"-1", b"0.5",
    b'"text"', b"\xef\xbb\xbf{}", '{"a": 1}'.encode("utf-16"), b"ticket=abc&state=1", b"nonce=1", b"name=x",
    b"falsey", b"tru", b"<html></html>", b"code=abc", b"Invalid", b"N", b"",
]


def _parses(body: bytes) -> bool:
    try:
        json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return False
    return True


@pytest.mark.parametrize("body", BODIES)
def test_a_body_parses_exactly_when_json_loads_would(body):
    hop = make_hop(1, "POST", "https://auth.example.com/token", resp_body=body)
    expected = json.loads(body) if _parses(body) else None
    assert hop.resp_json() == expected or (expected != expected and hop.resp_json() != hop.resp_json())  # NaN


def test_random_words_and_forms_are_never_skipped_when_they_parse():
    rng = random.Random(7)
    alphabet = b"tfnNIruelsaxyi=&{}[]\"0123456789-. \n"
    for _ in range(5000):
        body = bytes(rng.choice(alphabet) for _ in range(rng.randint(1, 9)))
        hop = make_hop(1, "POST", "https://auth.example.com/token", resp_body=body)
        if _parses(body):
            assert hop.resp_json() is not None or json.loads(body) is None, body
