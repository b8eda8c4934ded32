"""CA bundles written for one run: the usual roots (certifi's, as mitmproxy and `requests` use) plus one more CA.

mitmproxy's `ssl_verify_upstream_trusted_ca` replaces certifi's roots rather than adding to them, so trusting a
provider's private CA without losing every public provider takes a bundle of both; a program started by
`record -- COMMAND` needs the same to trust the proxy's CA besides the public roots.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from oauthtrace.errors import UserError

PEM_CERTIFICATE = b"-----BEGIN CERTIFICATE-----"


def read_ca_file(path: str, option: str) -> bytes:
    """The PEM certificates in `path`; a one-line UserError naming `option` when there are none."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise UserError(f"bad {option} {path!r}: {exc.strerror or exc}") from None
    if PEM_CERTIFICATE not in data:
        raise UserError(f"bad {option} {path!r}: no PEM certificate in it (expected -----BEGIN CERTIFICATE-----)")
    return _certificates_only(data)


def write_bundle(extra_pem: bytes, prefix: str) -> Path:
    """certifi's roots + `extra_pem` in a file only this user can read; the caller removes it when done."""
    import certifi

    roots = Path(certifi.where()).read_bytes()
    descriptor, name = tempfile.mkstemp(prefix=prefix, suffix=".pem")
    with os.fdopen(descriptor, "wb") as bundle:
        bundle.write(roots.rstrip(b"\n") + b"\n\n" + extra_pem.rstrip(b"\n") + b"\n")
    return Path(name)


def remove_bundle(path: Path | None) -> None:
    if path is not None:
        path.unlink(missing_ok=True)


def _certificates_only(data: bytes) -> bytes:
    # A file holding a key next to the certificate (mkcert's, some exports) must not end up in a bundle.
    blocks, inside, kept = [], False, []
    for line in data.splitlines():
        if line.startswith(PEM_CERTIFICATE):
            inside, kept = True, [line]
        elif inside:
            kept.append(line)
            if line.startswith(b"-----END CERTIFICATE-----"):
                blocks.append(b"\n".join(kept))
                inside = False
    return b"\n".join(blocks) + b"\n"
