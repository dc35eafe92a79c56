"""Twilio's request signature, `X-Twilio-Signature`, checked the way Twilio documents it.

Twilio signs each webhook request with the account's auth token (docs: "Webhooks security";
twilio-python's `RequestValidator` is the reference implementation):

1. the full URL Twilio requested, query string included;
2. for a form-encoded POST, every parameter appended as name then value, no separators,
   sorted by name (case-sensitive, code-point order), the values of a repeated name sorted;
3. HMAC-SHA1 of that text (UTF-8) with the auth token as key, base64-encoded.

A JSON body is not signed as parameters: Twilio adds `bodySHA256` (the hex SHA-256 of the
raw body) to the URL's query and signs the URL alone, so the body hash is checked as well.
Twilio is not consistent about the port in the signed URL, so both forms are accepted: with
the port (the scheme's default added when there is none) and without it. Comparison takes
constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import parse_qs, urlsplit, urlunsplit

HEADER = "X-Twilio-Signature"
BODY_HASH = "bodySHA256"


class TwilioSigner:
    """Computes and checks signatures with one auth token, which it never shows."""

    def __init__(self, auth_token: str) -> None:
        if not auth_token:
            raise ValueError("an empty auth token signs nothing")
        self._key = auth_token.encode("utf-8")

    def __repr__(self) -> str:
        return "TwilioSigner(auth_token=<hidden>)"

    def sign(self, url: str, params: Iterable[tuple[str, str]] = ()) -> str:
        text = url + "".join(name + value for name, value in sorted(params))
        digest = hmac.new(self._key, text.encode("utf-8"), hashlib.sha1).digest()
        return base64.b64encode(digest).decode("ascii")

    def valid(
        self,
        url: str,
        signature: str | None,
        params: Iterable[tuple[str, str]] | None = None,
        body: bytes | None = None,
    ) -> bool:
        """Whether `signature` signs this request: `params` for a form body, or the raw
        `body` of a JSON request (whose URL then carries `bodySHA256`)."""
        if not signature:
            return False
        pairs = list(params or ())
        if params is None:
            hashes = parse_qs(urlsplit(url).query).get(BODY_HASH)
            if body is None or not hashes:
                return False
            if not hmac.compare_digest(hashlib.sha256(body).hexdigest(), hashes[0]):
                return False
        given = signature.encode("ascii", "replace")
        return any(
            hmac.compare_digest(self.sign(candidate, pairs).encode("ascii"), given)
            for candidate in url_forms(url)
        )


def url_forms(url: str) -> tuple[str, str]:
    """The URL without its port, and with it (the scheme's default when it has none)."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    userinfo = parts.netloc[: len(parts.netloc) - len(host)]
    bare = host.rsplit(":", 1)[0] if parts.port is not None else host
    port = parts.port or (443 if parts.scheme == "https" else 80)
    without = urlunsplit(parts._replace(netloc=f"{userinfo}{bare}"))
    with_port = urlunsplit(parts._replace(netloc=f"{userinfo}{bare}:{port}"))
    return without, with_port
