"""The server store against a real clickhouse-server (Debian's 18.16) over TCP."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.store import StoreError, StoreUnavailable, open_store
from pipeline.store.native_store import NativeStore
from tests.store.conftest import SERVER_PASSWORD, ClickHouseServer
from tests.store.test_store_contract import COLUMNS, TABLE, batch

pytestmark = pytest.mark.clickhouse_server

# Migrations that 18.16 accepts, to drive the migrator over the native protocol (the real
# ones need DateTime64 and run on chdb in test_migrations.py).
OLD_SERVER_MIGRATIONS = {
    "0001_rows.sql": TABLE + ";\n",
    "0002_rows_view.sql": "-- a view; statements separated by ;\n"
    "CREATE VIEW IF NOT EXISTS rows_latest AS SELECT * FROM contract_rows FINAL;\n",
}


def test_password_from_environment_file_or_url(
    running_server: ClickHouseServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CCPIPE_STORE_PASSWORD", SERVER_PASSWORD)
    with open_store(running_server.url()) as store:
        store.ensure_database()
        assert store.query("SELECT 1").scalar() == 1
    monkeypatch.delenv("CCPIPE_STORE_PASSWORD")
    secret = tmp_path / "password"
    secret.write_text(SERVER_PASSWORD + "\n")
    monkeypatch.setenv("CCPIPE_STORE_PASSWORD_FILE", str(secret))
    with open_store(running_server.url()) as store:
        assert store.query("SELECT 1").scalar() == 1
    url = running_server.url().replace("ccpipe@", f"ccpipe:{SERVER_PASSWORD}@")
    with open_store(url) as store:
        assert store.display_url.startswith("clickhouse://ccpipe:***@")


def test_wrong_password_is_refused_without_showing_it(
    running_server: ClickHouseServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CCPIPE_STORE_PASSWORD", "not-the-password-42")
    store = open_store(running_server.url())
    try:
        with pytest.raises(StoreError) as info:
            store.query("SELECT 1")
        assert "not-the-password-42" not in str(info.value)
        assert not isinstance(info.value, StoreUnavailable)
    finally:
        store.close()


def test_server_down_then_back_loses_nothing(
    running_server: ClickHouseServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CCPIPE_STORE_PASSWORD", SERVER_PASSWORD)
    store = open_store(running_server.url(database="restart"))
    try:
        store.ensure_database()
        store.execute("DROP TABLE IF EXISTS contract_rows")
        store.execute(TABLE)
        store.insert("contract_rows", COLUMNS, batch(0, 200))
        running_server.kill()
        with pytest.raises(StoreUnavailable, match="unreachable"):
            store.insert("contract_rows", COLUMNS, batch(200, 200))
        running_server.start()
        # The caller retries the same batch on the same store object: it reconnects.
        store.insert("contract_rows", COLUMNS, batch(200, 200))
        assert store.query("SELECT count() FROM contract_rows FINAL").scalar() == 400
    finally:
        store.close()


def test_dedup_token_is_left_out_where_the_server_lacks_it(
    running_server: ClickHouseServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CCPIPE_STORE_PASSWORD", SERVER_PASSWORD)
    store = open_store(running_server.url(database="tokens"))
    assert isinstance(store, NativeStore)
    try:
        store.ensure_database()
        assert store.server_version()[:2] < (22, 2)  # Debian's 18.16
        store.execute("DROP TABLE IF EXISTS contract_rows")
        store.execute(TABLE)
        store.insert("contract_rows", COLUMNS, batch(0, 10), dedup_token="batch-0")
        assert store.query("SELECT count() FROM contract_rows").scalar() == 10
    finally:
        store.close()


def test_migrate_command_over_tcp_is_safe_twice(
    running_server: ClickHouseServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CCPIPE_STORE_PASSWORD", SERVER_PASSWORD)
    directory = tmp_path / "migrations"
    directory.mkdir()
    for name, sql in OLD_SERVER_MIGRATIONS.items():
        (directory / name).write_text(sql)
    url = running_server.url(database="migrated")
    assert main(["migrate", "--store", url, "--dir", str(directory)]) == 0
    assert "applied 2, 2 in all" in capsys.readouterr().err
    assert main(["migrate", "--store", url, "--dir", str(directory)]) == 0
    assert "up to date (2 migrations)" in capsys.readouterr().err
    assert main(["sql", "--store", url, "--format", "csv", "SELECT count() FROM rows_latest"]) == 0
    assert capsys.readouterr().out == "count()\n0\n"


def test_query_parameters_on_a_server_too_old_for_them_fail_clearly(
    running_server: ClickHouseServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CCPIPE_STORE_PASSWORD", SERVER_PASSWORD)
    with (
        open_store(running_server.url(database="default")) as store,
        pytest.raises(StoreError, match=r"22\.8"),
    ):
        store.query("SELECT {n:UInt8}", {"n": 1})


def test_tls_by_scheme_with_certificate_checks(
    running_server: ClickHouseServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    if running_server.secure_port is None:
        pytest.skip("openssl is not installed: no certificate for a TLS port")
    monkeypatch.setenv("CCPIPE_STORE_PASSWORD", SERVER_PASSWORD)
    base = f"ccpipe@127.0.0.1:{running_server.secure_port}/default"
    with open_store(f"clickhouses://{base}?ca_certs={running_server.certificate}") as store:
        assert store.query("SELECT 1").scalar() == 1
    with open_store(f"clickhouse://{base}?secure=1&verify=0") as store:
        assert store.query("SELECT 1").scalar() == 1
    # A self-signed certificate that nothing vouches for: refused, and not worth a retry.
    with open_store(f"clickhouses://{base}") as store:
        with pytest.raises(StoreError, match="CERTIFICATE_VERIFY_FAILED") as info:
            store.query("SELECT 1")
        assert not isinstance(info.value, StoreUnavailable)
