"""The chdb owner's read-only SQL endpoint, and the client `ccpipe sql` uses to reach it.

A chdb store has one owner process (ClickHouse locks its directory). While `ccpipe sink`
owns one, it serves `POST /sql` on loopback and writes `<store>/.owner.json` with its PID and
the endpoint's URL; `ccpipe sql` in another terminal meets `StoreBusy`, reads that file and
sends its query there. The owner runs it on its own `Store` (calls are serialised with the
sink's inserts) and answers with the rendered result, in the format asked, so the output is
byte for byte what `ccpipe sql` prints on a store it opens itself.

    curl --data-binary 'SELECT count() FROM segments FINAL' \
        'http://127.0.0.1:PORT/sql?format=csv&param_day=2026-11-22'

Only one read-only statement passes: SELECT, SHOW, DESCRIBE, WITH or EXPLAIN, and no
`INTO OUTFILE`. The endpoint binds 127.0.0.1 only: it is a convenience for the person at
the machine, not a server (use a ClickHouse server store for shared access).
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from pipeline.output_format import FORMATS, render
from pipeline.store import Store, StoreError
from pipeline.store.migrations import split_statements

log = logging.getLogger("ccpipe.sink")

OWNER_FILE = ".owner.json"
READ_ONLY = ("SELECT", "SHOW", "DESCRIBE", "DESC", "WITH", "EXPLAIN")
# Statements are small; a body above this is not a query someone typed.
MAX_BODY_BYTES = 1 << 20
_OUTFILE = re.compile(r"\bINTO\s+OUTFILE\b", re.IGNORECASE)
_FIRST_WORD = re.compile(r"[\s(]*([A-Za-z]+)")


class OwnerError(RuntimeError):
    """The owner cannot be asked (gone, not serving) or refused the query."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def owner_file(store_path: str | Path) -> Path:
    return Path(store_path) / OWNER_FILE


def refusal(sql: str) -> str | None:
    """Why the owner will not run `sql`, or None when it is one read-only statement."""
    statements = split_statements(sql)
    if len(statements) != 1:
        return f"send exactly one statement (got {len(statements)})"
    code = _code_only(statements[0])
    match = _FIRST_WORD.match(code)
    word = match.group(1).upper() if match else ""
    if word not in READ_ONLY:
        allowed = ", ".join(w for w in READ_ONLY if w != "DESC")
        return (
            f"only read-only statements ({allowed}) go to the store's owner process, "
            f"not {word or 'this'}: stop the owner to change the store"
        )
    if _OUTFILE.search(code):
        return "INTO OUTFILE writes a file: not through the store's owner process"
    return None


def _code_only(sql: str) -> str:
    """`sql` with comments and the contents of quoted strings and names blanked out."""
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end
            out.append(" ")
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i = n if end < 0 else end + 2
            out.append(" ")
        elif ch in "'\"`":
            j = i + 1
            while j < n and sql[j] != ch:
                j += 2 if sql[j] == "\\" else 1
            out.append(ch + ch)
            i = j + 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)


# --- the endpoint (in the owner) -----------------------------------------------------------


class SqlEndpoint:
    """`POST /sql` on 127.0.0.1 in a thread, and the owner file that points to it."""

    def __init__(self, store: Store, store_path: str | Path, port: int = 0) -> None:
        self._store = store
        self._file = owner_file(store_path)
        handler = type("_Handler", (_Handler,), {"store": store})
        self._server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="ccpipe-sql-endpoint", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/sql"

    def start(self) -> None:
        self._thread.start()
        record = {"pid": os.getpid(), "url": self.url, "store": self._store.display_url}
        partial = self._file.with_name(self._file.name + ".tmp")
        partial.write_text(json.dumps(record) + "\n", encoding="utf-8")
        partial.replace(self._file)  # readers see the whole file or none

    def close(self) -> None:
        try:
            if json.loads(self._file.read_text(encoding="utf-8")).get("pid") == os.getpid():
                self._file.unlink()
        except (OSError, ValueError):
            pass
        self._server.shutdown()
        self._server.server_close()


class _Handler(BaseHTTPRequestHandler):
    store: Store
    server_version = "ccpipe-sql"

    def do_POST(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/sql":
            self._reply(404, b"POST /sql\n")
            return
        query = urllib.parse.parse_qs(url.query)
        fmt = query.get("format", ["table"])[0]
        if fmt not in FORMATS:
            self._reply(400, f"format must be one of {', '.join(FORMATS)}\n".encode())
            return
        params = {k[len("param_") :]: v[0] for k, v in query.items() if k.startswith("param_")}
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self._reply(413, b"query too long\n")
            return
        sql = self.rfile.read(length).decode("utf-8", errors="replace")
        refused = refusal(sql)
        if refused is not None:
            self._reply(403, refused.encode() + b"\n")
            return
        try:
            result = self.store.query(sql, params or None)
        except StoreError as exc:
            self._reply(400, str(exc).encode() + b"\n")
            return
        self._reply(200, render(fmt, result.columns, result.rows))

    def _reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("sql endpoint: " + format, *args)


# --- the client (in `ccpipe sql`) ----------------------------------------------------------


@dataclass(frozen=True)
class Owner:
    pid: int
    url: str


def find_owner(store_path: str | Path) -> Owner:
    """The owner named by the store's owner file; OwnerError if none serves queries."""
    path = owner_file(store_path)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        owner = Owner(int(record["pid"]), str(record["url"]))
    except FileNotFoundError:
        raise OwnerError(
            "the process that owns it serves no query endpoint (no "
            f"{path}): only `ccpipe sink` does; wait for that process to end or stop it"
        ) from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise OwnerError(f"cannot read {path}: {exc}") from None
    if not _alive(owner.pid):
        raise OwnerError(
            f"its owner file names process {owner.pid}, which is gone ({path} is stale); "
            "the process holding the store now serves no queries"
        )
    return owner


def ask_owner(
    owner: Owner, sql: str, params: dict[str, str], fmt: str, timeout_s: float = 600.0
) -> bytes:
    """Run `sql` in the owner process; its rendered output, or OwnerError."""
    query = urllib.parse.urlencode({"format": fmt, **{f"param_{k}": v for k, v in params.items()}})
    request = urllib.request.Request(
        f"{owner.url}?{query}", data=sql.encode("utf-8"), method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            body: bytes = response.read()
            return body
    except urllib.error.HTTPError as exc:
        message = exc.read().decode("utf-8", errors="replace").strip()
        raise OwnerError(message, exit_code=1 if exc.code == 400 else 2) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise OwnerError(
            f"its owner, process {owner.pid}, does not answer at {owner.url} ({reason})"
        ) from None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
