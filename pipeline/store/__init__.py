"""ClickHouse storage: one `Store` protocol, an embedded (chdb) and a server implementation.

`open_store(url)` picks the implementation from the URL scheme (see `pipeline.store.url`).
The schema lives in `pipeline/store/schema/*.sql` (package data), applied by
`pipeline.store.migrations`.
"""

from __future__ import annotations

from pipeline.store.base import (
    QueryResult,
    Store,
    StoreBusy,
    StoreError,
    StoreUnavailable,
)
from pipeline.store.url import ChdbURL, NativeURL, StoreURL, StoreURLError, parse_store_url

__all__ = [
    "QueryResult",
    "Store",
    "StoreBusy",
    "StoreError",
    "StoreURLError",
    "StoreUnavailable",
    "open_store",
]


def open_store(url: str | StoreURL) -> Store:
    """Open the store a URL names; the caller closes it."""
    parsed = parse_store_url(url) if isinstance(url, str) else url
    if isinstance(parsed, ChdbURL):
        from pipeline.store.chdb_store import ChdbStore

        return ChdbStore(parsed.path)
    assert isinstance(parsed, NativeURL)
    from pipeline.store.native_store import NativeStore

    return NativeStore(parsed)
