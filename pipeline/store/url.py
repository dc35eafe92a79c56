"""Store URLs: `chdb://PATH` (embedded) or `clickhouse[s]://user:pass@host:port/db` (server).

The password never appears in `repr`, `str` or `redacted()`: only `password()` hands it out,
to the one place that opens the connection. It may come from the URL, from the environment
variable `CCPIPE_STORE_PASSWORD`, or from the file named by `CCPIPE_STORE_PASSWORD_FILE`
(in that order), so a deployment can keep it out of the URL, the config file and `ps`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlsplit

CHDB_SCHEME = "chdb://"
MEMORY = ":memory:"
NATIVE_PORT = 9000
NATIVE_SECURE_PORT = 9440
PASSWORD_ENV = "CCPIPE_STORE_PASSWORD"
PASSWORD_FILE_ENV = "CCPIPE_STORE_PASSWORD_FILE"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
# Query options of a server URL and what they become; anything else is refused, so a typo
# (`?secrue=1`) fails loudly instead of connecting in clear text.
_OPTIONS = ("secure", "verify", "ca_certs", "compression", "connect_timeout", "timeout")


class StoreURLError(ValueError):
    """A store URL that cannot be used; the message never holds the password."""


@dataclass(frozen=True)
class ChdbURL:
    """An embedded chdb store: a directory owned by one process, or `:memory:`."""

    path: str

    @property
    def in_memory(self) -> bool:
        return self.path == MEMORY

    def redacted(self) -> str:
        return f"{CHDB_SCHEME}{self.path}"

    def __str__(self) -> str:
        return self.redacted()


@dataclass(frozen=True)
class NativeURL:
    """A ClickHouse server reached over the native TCP protocol."""

    host: str
    port: int
    database: str
    user: str
    secure: bool = False
    verify: bool = True
    ca_certs: str | None = None
    compression: str | None = None
    connect_timeout: float = 10.0
    timeout: float = 300.0
    # Kept out of repr and comparisons: read it with `password()`.
    url_password: str | None = field(default=None, repr=False, compare=False)

    def password(self, env: Mapping[str, str] | None = None) -> str:
        """The password: from the URL, else $CCPIPE_STORE_PASSWORD, else the file named by
        $CCPIPE_STORE_PASSWORD_FILE (trailing newline dropped), else empty."""
        if self.url_password is not None:
            return self.url_password
        env = os.environ if env is None else env
        if env.get(PASSWORD_ENV):
            return env[PASSWORD_ENV]
        path = env.get(PASSWORD_FILE_ENV)
        if path:
            try:
                return Path(path).read_text(encoding="utf-8").rstrip("\r\n")
            except OSError as exc:
                raise StoreURLError(
                    f"cannot read the password file named by {PASSWORD_FILE_ENV} ({path}): "
                    f"{exc.strerror}"
                ) from None
        return ""

    def redacted(self) -> str:
        scheme = "clickhouses" if self.secure else "clickhouse"
        auth = quote(self.user, safe="")
        if self.url_password is not None:
            auth += ":***"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{auth}@{host}:{self.port}/{quote(self.database, safe='')}"

    def __str__(self) -> str:
        return self.redacted()


StoreURL = ChdbURL | NativeURL


def parse_store_url(text: str) -> StoreURL:
    """Parse a `--store` value. Errors name the problem, never the password."""
    if text.startswith(CHDB_SCHEME):
        path = text[len(CHDB_SCHEME) :]
        if not path:
            raise StoreURLError("chdb:// needs a path, e.g. chdb://./.ccpipe/store")
        return ChdbURL(path)
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme not in ("clickhouse", "clickhouses"):
        raise StoreURLError(
            "a store URL starts with chdb://, clickhouse:// or clickhouses:// "
            f"(got {scheme + '://' if scheme else 'no scheme'})"
        )
    parts = urlsplit(text)
    try:
        port_given = parts.port
    except ValueError:
        raise StoreURLError("the store URL has a port that is not a number") from None
    if not parts.hostname:
        raise StoreURLError("the store URL names no host")
    options = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise StoreURLError(
            f"unknown store URL option {unknown[0]!r} (known: {', '.join(_OPTIONS)})"
        )
    secure = scheme == "clickhouses" or _flag(options, "secure", False)
    database = unquote(parts.path.lstrip("/")) or "default"
    if "/" in database:
        raise StoreURLError("the store URL path must be one database name")
    return NativeURL(
        host=parts.hostname,
        port=port_given or (NATIVE_SECURE_PORT if secure else NATIVE_PORT),
        database=database,
        user=unquote(parts.username) if parts.username else "default",
        url_password=unquote(parts.password) if parts.password is not None else None,
        secure=secure,
        verify=_flag(options, "verify", True),
        ca_certs=options.get("ca_certs") or None,
        compression=options.get("compression") or None,
        connect_timeout=_seconds(options, "connect_timeout", 10.0),
        timeout=_seconds(options, "timeout", 300.0),
    )


def _flag(options: Mapping[str, str], name: str, default: bool) -> bool:
    if name not in options:
        return default
    value = options[name].strip().lower()
    if value in _TRUE or value == "":
        return True
    if value in _FALSE:
        return False
    raise StoreURLError(f"store URL option {name}={options[name]!r} is not 1/0/true/false")


def _seconds(options: Mapping[str, str], name: str, default: float) -> float:
    if name not in options:
        return default
    try:
        value = float(options[name])
    except ValueError:
        value = -1.0
    if value <= 0:
        raise StoreURLError(f"store URL option {name}={options[name]!r} is not seconds > 0")
    return value
