from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.store.url import ChdbURL, NativeURL, StoreURLError, parse_store_url


def native(text: str) -> NativeURL:
    url = parse_store_url(text)
    assert isinstance(url, NativeURL)
    return url


def test_chdb_paths() -> None:
    assert parse_store_url("chdb://./.ccpipe/store") == ChdbURL("./.ccpipe/store")
    assert parse_store_url("chdb:///var/lib/ccpipe") == ChdbURL("/var/lib/ccpipe")
    memory = parse_store_url("chdb://:memory:")
    assert isinstance(memory, ChdbURL) and memory.in_memory
    with pytest.raises(StoreURLError, match="needs a path"):
        parse_store_url("chdb://")


def test_server_url_parts_and_defaults() -> None:
    url = native("clickhouse://analyst@ch.example:9001/cc")
    assert (url.host, url.port, url.database, url.user, url.secure) == (
        "ch.example",
        9001,
        "cc",
        "analyst",
        False,
    )
    bare = native("clickhouse://localhost")
    assert (bare.port, bare.database, bare.user) == (9000, "default", "default")


def test_tls_by_scheme_or_option_moves_the_default_port() -> None:
    assert native("clickhouses://u@h/db").secure
    assert native("clickhouses://u@h/db").port == 9440
    url = native("clickhouse://u@h/db?secure=1&verify=0&ca_certs=/etc/ca.pem")
    assert (url.secure, url.port, url.verify, url.ca_certs) == (True, 9440, False, "/etc/ca.pem")
    assert native("clickhouse://u@h:9000/db?secure=true").port == 9000


def test_password_never_shows_and_is_percent_decoded() -> None:
    url = native("clickhouse://u%40x:p%2Fw%3Ass@h:9000/db")
    assert url.user == "u@x"
    assert url.password(env={}) == "p/w:ss"
    for text in (repr(url), str(url), url.redacted()):
        assert "p/w" not in text and "p%2F" not in text
    assert url.redacted() == "clickhouse://u%40x:***@h:9000/db"
    assert native("clickhouse://u@h/db").redacted() == "clickhouse://u@h:9000/db"


def test_password_from_environment_then_file(tmp_path: Path) -> None:
    url = native("clickhouse://u@h/db")
    secret = tmp_path / "pw"
    secret.write_text("from-file\n")
    assert url.password(env={}) == ""
    assert url.password(env={"CCPIPE_STORE_PASSWORD_FILE": str(secret)}) == "from-file"
    both = {"CCPIPE_STORE_PASSWORD": "from-env", "CCPIPE_STORE_PASSWORD_FILE": str(secret)}
    assert url.password(env=both) == "from-env"
    # A password in the URL wins: it was given for this store explicitly.
    assert native("clickhouse://u:inline@h/db").password(env=both) == "inline"
    with pytest.raises(StoreURLError, match="cannot read the password file"):
        url.password(env={"CCPIPE_STORE_PASSWORD_FILE": str(tmp_path / "missing")})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("postgres://h/db", "starts with chdb://"),
        ("localhost:9000", "no scheme"),
        ("clickhouse://h/db?secrue=1", "unknown store URL option 'secrue'"),
        ("clickhouse://h/db?secure=maybe", "is not 1/0"),
        ("clickhouse://h:port/db", "not a number"),
        ("clickhouse:///db", "names no host"),
        ("clickhouse://h/a/b", "one database name"),
        ("clickhouse://h/db?timeout=0", "seconds > 0"),
    ],
)
def test_bad_urls_say_why(text: str, message: str) -> None:
    with pytest.raises(StoreURLError, match=message):
        parse_store_url(text)


def test_errors_never_hold_the_password() -> None:
    with pytest.raises(StoreURLError) as info:
        parse_store_url("clickhouse://u:hunter2@h/db?bogus=1")
    assert "hunter2" not in str(info.value)
