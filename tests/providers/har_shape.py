"""The pieces every provider fixture is made of: deterministic RSA keys, signed JWTs, and HAR entries shaped the way
Chrome's DevTools (browser side) and a recording proxy (the client's server side) write them.

Kept apart from build_fixtures.py so that file reads as one documented login per provider.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import random
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl, urlsplit

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

# ---------------------------------------------------------------------------------------------------------------
# Keys and tokens
# ---------------------------------------------------------------------------------------------------------------

_SMALL_PRIMES = [p for p in range(3, 2000) if all(p % d for d in range(2, int(p ** 0.5) + 1))]


def _is_probable_prime(n: int, rng: random.Random) -> bool:
    if any(n % p == 0 for p in _SMALL_PRIMES):
        return n in _SMALL_PRIMES
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for _ in range(24):
        x = pow(rng.randrange(2, n - 2), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(rng: random.Random, bits: int) -> int:
    while True:
        candidate = rng.getrandbits(bits) | (1 << (bits - 1)) | (1 << (bits - 2)) | 1
        if (candidate - 1) % 65537 and _is_probable_prime(candidate, rng):
            return candidate


def rsa_key(seed: str, bits: int = 2048) -> rsa.RSAPrivateKey:
    """A real RSA key derived from `seed`: the committed fixtures come out byte for byte the same on every run
    (RS256 signatures are deterministic), and no private key file has to be committed."""
    rng = random.Random(hashlib.sha256(seed.encode()).digest())
    e = 65537
    while True:
        p, q = _prime(rng, bits // 2), _prime(rng, bits // 2)
        if p != q and (p * q).bit_length() == bits:
            break
    d = pow(e, -1, (p - 1) * (q - 1))
    numbers = rsa.RSAPrivateNumbers(
        p, q, d, d % (p - 1), d % (q - 1), pow(q, -1, p), rsa.RSAPublicNumbers(e, p * q))
    return numbers.private_key()


def ec_key(seed: str) -> ec.EllipticCurvePrivateKey:
    secret = int.from_bytes(hashlib.sha256(seed.encode()).digest(), "big") % (2 ** 255)
    return ec.derive_private_key(secret, ec.SECP256R1())


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segment(value: dict) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def jwt_rs256(key: rsa.RSAPrivateKey, header: dict, claims: dict) -> str:
    signing_input = f"{_segment({'alg': 'RS256', **header})}.{_segment(claims)}".encode()
    return signing_input.decode() + "." + b64url(key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256()))


def jwt_es256(key: ec.EllipticCurvePrivateKey, header: dict, claims: dict) -> str:
    """ES256 as JWS wants it: r and s, 32 bytes each (RFC 7518 §3.4), deterministic (RFC 6979)."""
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    signing_input = f"{_segment({'alg': 'ES256', **header})}.{_segment(claims)}".encode()
    der = key.sign(signing_input, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
    r, s = decode_dss_signature(der)
    return signing_input.decode() + "." + b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def jwt_hs(secret: bytes, header: dict, claims: dict, alg: str = "HS512") -> str:
    import hmac

    signing_input = f"{_segment({'alg': alg, **header})}.{_segment(claims)}".encode()
    digest = {"HS256": hashlib.sha256, "HS512": hashlib.sha512}[alg]
    return signing_input.decode() + "." + b64url(hmac.new(secret, signing_input, digest).digest())


def jwk(key: rsa.RSAPrivateKey, kid: str, **extra) -> dict:
    numbers = key.public_key().public_numbers()
    n = numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")
    return {"kty": "RSA", "use": "sig", "kid": kid, "alg": "RS256", "n": b64url(n), "e": "AQAB", **extra}


def half_hash(value: str) -> str:
    """at_hash / c_hash for RS256 (OpenID Connect Core §3.1.3.6, §3.3.2.11): left half of SHA-256, base64url."""
    return b64url(hashlib.sha256(value.encode("ascii")).digest()[:16])


def pkce_pair(seed: str) -> tuple[str, str]:
    verifier = b64url(hashlib.sha256(("verifier:" + seed).encode()).digest() + hashlib.sha256(seed.encode()).digest())
    return verifier, b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def token(seed: str, length: int = 32, alphabet: str = "") -> str:
    """A random-looking value (state, nonce, code ...) that is the same on every run."""
    raw = b""
    counter = 0
    while len(raw) < length:
        raw += hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        counter += 1
    if alphabet:
        return "".join(alphabet[b % len(alphabet)] for b in raw[:length])
    return b64url(raw)[:length]


def guid(seed: str) -> str:
    h = hashlib.sha256(seed.encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


# ---------------------------------------------------------------------------------------------------------------
# HAR entries
# ---------------------------------------------------------------------------------------------------------------

CHROME_VERSION = "131"
CHROME_UA = (f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
             f"Chrome/{CHROME_VERSION}.0.0.0 Safari/537.36")
SEC_CH_UA = f'"Google Chrome";v="{CHROME_VERSION}", "Chromium";v="{CHROME_VERSION}", "Not_A Brand";v="24"'
NAVIGATE_ACCEPT = ("text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;"
                   "q=0.8,application/signed-exchange;v=b3;q=0.7")


def _pairs(pairs) -> list[dict]:
    return [{"name": name, "value": value} for name, value in pairs]


def _http_date(moment: datetime) -> str:
    return moment.strftime("%a, %d %b %Y %H:%M:%S GMT")


def _cookie_pairs(header: str) -> list[tuple[str, str]]:
    return [tuple(part.strip().split("=", 1)) for part in header.split(";") if "=" in part]


class Capture:
    """One login as a HAR log: the browser's requests as Chrome's DevTools exports them, then (merged into the same
    log, ordered by start time) the client's server-to-server calls as a recording proxy on that server's path
    writes them (mitmproxy's HAR shape: no Chrome-only `_initiator`, `_priority`, `_resourceType`)."""

    def __init__(self, started: str, title: str):
        self.clock = datetime.fromisoformat(started).astimezone(timezone.utc)
        self.entries: list[dict] = []
        self.page = {"startedDateTime": self._iso(self.clock), "id": "page_1", "title": title,
                     "pageTimings": {"onContentLoad": -1, "onLoad": -1}}
        self.ip = {}
        self.connection = 412000

    @staticmethod
    def _iso(moment: datetime) -> str:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"

    def now(self) -> int:
        return int(self.clock.timestamp())

    def wait(self, ms: float) -> None:
        self.clock += timedelta(milliseconds=ms)

    def _server_ip(self, url: str) -> str:
        host = urlsplit(url).hostname or ""
        if host not in self.ip:
            digest = hashlib.sha256(host.encode()).digest()
            self.ip[host] = f"{20 + digest[0] % 180}.{digest[1]}.{digest[2]}.{1 + digest[3] % 250}"
        return self.ip[host]

    def navigate(self, method: str, url: str, *, status: int, resp_headers=(), body: str = "",
                 mime: str = "text/html", referer: str | None = None, cookie: str | None = None,
                 form: list[tuple[str, str]] | None = None, site: str = "none", ms: float = 180,
                 initiator: dict | None = None, xhr: bool = False, json_body: dict | None = None,
                 accept: str | None = None) -> dict:
        """A top-level navigation (or, with xhr, a fetch from the page), as Chrome records it over HTTP/2."""
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        headers = [(":authority", parts.netloc), (":method", method), (":path", path), (":scheme", parts.scheme),
                   ("accept", accept or (NAVIGATE_ACCEPT if not xhr else "application/json")),
                   ("accept-encoding", "gzip, deflate, br, zstd"), ("accept-language", "en-US,en;q=0.9")]
        post_text = None
        post_mime = None
        if form is not None:
            from urllib.parse import urlencode

            post_text, post_mime = urlencode(form), "application/x-www-form-urlencoded"
        elif json_body is not None:
            post_text, post_mime = json.dumps(json_body, separators=(",", ":")), "application/json"
        if method == "POST" and not xhr:
            headers.append(("cache-control", "max-age=0"))
        if post_text is not None:
            headers += [("content-length", str(len(post_text.encode()))), ("content-type", post_mime)]
        if cookie:
            headers.append(("cookie", cookie))
        if method == "POST":
            origin = f"{urlsplit(referer).scheme}://{urlsplit(referer).netloc}" if referer else "null"
            headers.append(("origin", origin))
        headers.append(("priority", "u=0, i" if not xhr else "u=1, i"))
        if referer:
            headers.append(("referer", referer))
        headers += [("sec-ch-ua", SEC_CH_UA), ("sec-ch-ua-mobile", "?0"), ("sec-ch-ua-platform", '"Windows"')]
        if xhr:
            headers += [("sec-fetch-dest", "empty"), ("sec-fetch-mode", "cors"), ("sec-fetch-site", site)]
        else:
            headers += [("sec-fetch-dest", "document"), ("sec-fetch-mode", "navigate"), ("sec-fetch-site", site),
                        ("sec-fetch-user", "?1"), ("upgrade-insecure-requests", "1")]
        headers.append(("user-agent", CHROME_UA))
        request = {"method": method, "url": url.split("#", 1)[0], "httpVersion": "http/2.0",
                   "headers": _pairs(headers), "queryString": _pairs(parse_qsl(parts.query, keep_blank_values=True)),
                   "cookies": [{"name": n, "value": v, "path": "/", "domain": parts.hostname, "expires": None,
                                "httpOnly": True, "secure": True} for n, v in _cookie_pairs(cookie or "")],
                   "headersSize": -1, "bodySize": len(post_text.encode()) if post_text else 0}
        if post_text is not None:
            request["postData"] = {"mimeType": post_mime, "text": post_text}
            if form is not None:
                request["postData"]["params"] = _pairs(form)
        entry = self._entry(request, status, resp_headers, body, mime, ms, http="http/2.0", lowercase=True)
        entry.update({"_initiator": initiator or {"type": "other"}, "_priority": "High" if xhr else "VeryHigh",
                      "_resourceType": "fetch" if xhr else "document", "cache": {},
                      "connection": str(self._connection()), "pageref": "page_1"})
        return self._add(entry)

    def _connection(self) -> int:
        self.connection += 7
        return self.connection

    def server(self, method: str, url: str, *, headers, status: int, body: str = "", mime: str = "application/json",
               resp_headers=(), form: list[tuple[str, str]] | None = None, ms: float = 140) -> dict:
        """A call from the client's server (token request, userinfo, JWKS ...), as a proxy on its path writes it."""
        parts = urlsplit(url)
        request_headers = [("Host", parts.netloc), *headers]
        post_text = None
        if form is not None:
            from urllib.parse import urlencode

            post_text = urlencode(form)
            request_headers += [("Content-Type", "application/x-www-form-urlencoded"),
                                ("Content-Length", str(len(post_text.encode())))]
        request = {"method": method, "url": url, "httpVersion": "HTTP/1.1", "cookies": [],
                   "headers": _pairs(request_headers),
                   "queryString": _pairs(parse_qsl(parts.query, keep_blank_values=True)), "headersSize": -1,
                   "bodySize": len(post_text.encode()) if post_text else 0}
        if post_text is not None:
            request["postData"] = {"mimeType": "application/x-www-form-urlencoded", "text": post_text,
                                   "params": _pairs(form)}
        entry = self._entry(request, status, resp_headers, body, mime, ms, http="HTTP/1.1", lowercase=False)
        entry["cache"] = {}
        return self._add(entry)

    def _entry(self, request: dict, status: int, resp_headers, body: str, mime: str, ms: float, *, http: str,
               lowercase: bool) -> dict:
        date = ("date" if lowercase else "Date", _http_date(self.clock + timedelta(milliseconds=ms * 0.6)))
        headers = [date, *resp_headers]
        if body:
            headers.append(("content-type" if lowercase else "Content-Type",
                            mime if ";" in mime or not mime.startswith(("text/", "application/json"))
                            else f"{mime}; charset=utf-8"))
        location = next((v for k, v in headers if k.lower() == "location"), "")
        set_cookies = [v for k, v in headers if k.lower() == "set-cookie"]
        response = {"status": status, "statusText": "" if lowercase else _REASONS.get(status, ""),
                    "httpVersion": http, "headers": _pairs(headers),
                    "cookies": [{"name": c.split("=", 1)[0], "value": c.split("=", 1)[1].split(";", 1)[0],
                                 "path": "/", "domain": urlsplit(request["url"]).hostname, "expires": None,
                                 "httpOnly": "httponly" in c.lower(), "secure": "secure" in c.lower()}
                                for c in set_cookies],
                    "content": {"size": len(body.encode()), "mimeType": mime if body else "x-unknown"},
                    "redirectURL": location, "headersSize": -1, "bodySize": len(body.encode()) if body else 0}
        if body:
            response["content"]["text"] = body
        if lowercase:
            response["_transferSize"] = len(body.encode()) + 410
            response["_error"] = None
        wait = ms * 0.7
        entry = {"request": request, "response": response, "serverIPAddress": self._server_ip(request["url"]),
                 "startedDateTime": self._iso(self.clock), "time": round(ms, 3),
                 "timings": {"blocked": 1.2, "dns": -1, "ssl": -1, "connect": -1, "send": 0.3,
                             "wait": round(wait, 3), "receive": round(ms - wait - 1.5, 3)}}
        if lowercase:
            entry["timings"]["_blocked_queueing"] = 0.9
        return entry

    def _add(self, entry: dict) -> dict:
        self.entries.append(entry)
        self.wait(entry["time"] + 25)
        return entry

    def har(self) -> dict:
        entries = sorted(self.entries, key=lambda e: e["startedDateTime"])
        return {"log": {"version": "1.2", "creator": {"name": "WebInspector", "version": "537.36"},
                        "pages": [self.page], "entries": entries}}


_REASONS = {200: "OK", 302: "Found", 303: "See Other", 400: "Bad Request", 401: "Unauthorized"}

# ---------------------------------------------------------------------------------------------------------------
# Chrome's default export
# ---------------------------------------------------------------------------------------------------------------

# Chrome 130+ exports "sanitized" HARs by default: the DevTools change that made it so says "By default the
# exported/copied HARs will be sanitized to not include cookie or authorization information", the headers named
# "Cookie, Set-Cookie, and Authorization" (devtools-frontend acd96a60464188fbf7c4476ec883ec65bba3dfdf,
# https://chromium.googlesource.com/devtools/devtools-frontend/+/acd96a60464188fbf7c4476ec883ec65bba3dfdf; design
# https://goo.gle/devtools-har-exclude-cookies-design). Bodies, URLs and every other header stay as they were.
SANITIZED_HEADERS = ("cookie", "set-cookie", "authorization")


def chrome_sanitized(document: dict) -> dict:
    """The same HAR as Chrome's "Export HAR (sanitized)" writes it: no Cookie, Set-Cookie or Authorization header
    anywhere, and the parsed `cookies` arrays empty."""
    sanitized = copy.deepcopy(document)
    for entry in sanitized["log"]["entries"]:
        for side in ("request", "response"):
            message = entry.get(side) or {}
            message["headers"] = [h for h in message.get("headers", [])
                                  if h.get("name", "").lower() not in SANITIZED_HEADERS]
            if "cookies" in message:
                message["cookies"] = []
    return sanitized


def html_page(title: str, form_action: str, fields: list[tuple[str, str, str]], *, auto_submit: bool = False) -> str:
    """A small HTML page with one form: (type, name, value) inputs. auto_submit: the form_post response mode's
    self-submitting page (OAuth 2.0 Form Post Response Mode §2)."""
    from html import escape

    inputs = "\n".join(f'    <input type="{kind}" name="{escape(name)}" value="{escape(value)}"/>'
                       for kind, name, value in fields)
    onload = ' onload="javascript:document.forms[0].submit()"' if auto_submit else ""
    button = "" if auto_submit else '\n    <button type="submit">Continue</button>'
    return (f"<!DOCTYPE html>\n<html>\n<head><title>{escape(title)}</title></head>\n<body{onload}>\n"
            f'  <form method="post" action="{escape(form_action)}">\n{inputs}{button}\n  </form>\n</body>\n</html>\n')


def login_page(title: str, form_action: str, hidden: list[tuple[str, str]], user_field: str = "username",
               password_field: str = "password") -> str:
    fields = [("hidden", n, v) for n, v in hidden] + [("text", user_field, ""), ("password", password_field, "")]
    return html_page(title, form_action, fields)


def dumps(value) -> str:
    return json.dumps(value, separators=(",", ":"))
