"""The server store: ClickHouse over its native TCP protocol through clickhouse-driver.

Inserts go as native columnar blocks (`columnar=True`), the protocol's own format, so a
batch is sent without a row-by-row step. Network failures become `StoreUnavailable` (the
caller retries the same batch later); server-side errors become `StoreError`. The driver
reconnects by itself on the next call after a lost connection.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

from pipeline.store.base import (
    Params,
    QueryResult,
    StoreError,
    StoreUnavailable,
    check_columnar,
    quote_identifier,
)
from pipeline.store.url import NativeURL

# insert_deduplication_token arrived in ClickHouse 22.2; query parameters bound by the
# server over the native protocol in 22.8 (older servers only get statements without them).
DEDUP_TOKEN_SINCE = (22, 2)
SERVER_PARAMS_SINCE = (22, 8)

# The driver logs each failed connect and reconnect as a warning with a traceback; this
# module turns those failures into one StoreUnavailable that the caller reports once.
logging.getLogger("clickhouse_driver.connection").setLevel(logging.ERROR)

# TLS failures that no retry fixes (an untrusted certificate, TLS to a plain port): the
# driver reports them as network errors, with the SSL reason in the text.
_TLS_SETUP_ERRORS = ("CERTIFICATE_VERIFY_FAILED", "WRONG_VERSION_NUMBER")


class NativeStore:
    def __init__(self, url: NativeURL) -> None:
        self._url = url
        self._password = url.password()
        self._lock = threading.Lock()
        self._client = self._new_client(url.database)

    def _new_client(self, database: str) -> Any:
        from clickhouse_driver import Client

        url = self._url
        options: dict[str, Any] = {
            "host": url.host,
            "port": url.port,
            "database": database,
            "user": url.user,
            "password": self._password,
            "secure": url.secure,
            "verify": url.verify,
            "connect_timeout": url.connect_timeout,
            "send_receive_timeout": url.timeout,
            "client_name": "ccpipe",
            "settings": {"server_side_params": True},
        }
        if url.ca_certs:
            options["ca_certs"] = url.ca_certs
        if url.compression:
            options["compression"] = url.compression
        return Client(**options)

    @property
    def display_url(self) -> str:
        return self._url.redacted()

    @property
    def database(self) -> str:
        return self._url.database

    def server_version(self) -> tuple[int, ...]:
        with self._lock:
            return self._server_version()

    def ensure_database(self) -> None:
        # Our own client names the database, which may not exist yet: go through `default`.
        client = self._new_client("default")
        try:
            name = quote_identifier(self._url.database)
            self._call(client.execute, f"CREATE DATABASE IF NOT EXISTS {name}")
        finally:
            client.disconnect()

    def execute(self, sql: str, params: Params | None = None) -> None:
        with self._lock:
            self._call(self._client.execute, sql, self._params(params))

    def query(self, sql: str, params: Params | None = None) -> QueryResult:
        with self._lock:
            rows, described = self._call(
                self._client.execute,
                sql,
                self._params(params),
                with_column_types=True,
            )
        return QueryResult(
            columns=[name for name, _ in described],
            rows=[tuple(row) for row in rows],
        )

    def insert(
        self,
        table: str,
        columns: Sequence[str],
        data: Sequence[Sequence[Any]],
        *,
        dedup_token: str | None = None,
    ) -> int:
        rows = check_columnar(columns, data)
        if rows == 0:
            return 0
        names = ", ".join(quote_identifier(c) for c in columns)
        sql = f"INSERT INTO {quote_identifier(table)} ({names}) VALUES"
        with self._lock:
            settings: dict[str, Any] = {}
            if dedup_token and self._version_at_least(DEDUP_TOKEN_SINCE):
                settings["insert_deduplication_token"] = dedup_token
            # The driver writes into the lists it is given (None -> defaults): hand it copies.
            self._call(
                self._client.execute,
                sql,
                [list(values) for values in data],
                columnar=True,
                settings=settings or None,
            )
        return rows

    def close(self) -> None:
        with self._lock:
            self._client.disconnect()

    def __enter__(self) -> NativeStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _params(self, params: Params | None) -> dict[str, Any] | None:
        if not params:
            return None
        if not self._version_at_least(SERVER_PARAMS_SINCE):
            raise StoreError("query parameters need ClickHouse 22.8 or newer on the server")
        return dict(params)

    def _version_at_least(self, wanted: tuple[int, int]) -> bool:
        return self._server_version()[:2] >= wanted

    def _server_version(self) -> tuple[int, ...]:
        connection = self._client.connection
        if not connection.connected:
            # A query connects through the driver's own bookkeeping (its force_connect
            # marks the connection busy until a query completes).
            self._call(self._client.execute, "SELECT 1")
        return tuple(connection.server_info.version_tuple())

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        from clickhouse_driver import errors

        try:
            return fn(*args, **kwargs)
        except (errors.NetworkError, errors.SocketTimeoutError, EOFError, OSError) as exc:
            self._client.disconnect()
            message = _message(exc)
            if any(marker in message for marker in _TLS_SETUP_ERRORS):
                raise StoreError(f"TLS to {self._url.redacted()} failed: {message}") from None
            raise StoreUnavailable(
                f"ClickHouse at {self._url.redacted()} is unreachable: {_message(exc)}"
            ) from None
        except errors.Error as exc:
            raise StoreError(_message(exc)) from None


def _message(exc: BaseException) -> str:
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__
