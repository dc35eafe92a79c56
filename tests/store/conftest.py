"""Fixtures: a fresh chdb store per test, and Debian's clickhouse-server on loopback.

chdb binds a process to one data directory at a time, so every chdb fixture closes its
store before the next test opens another path.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipeline.store import Store, StoreUnavailable, open_store
from pipeline.store.migrations import load_migrations, migrate
from tests.kafka.broker import kafka_broker, kafka_sasl, kafka_settings, topic_prefix
from tests.log_tail import log_tail

SERVER_PASSWORD = "s3cret-pa55"


@pytest.fixture
def empty_store(tmp_path: Path) -> Iterator[Store]:
    store = open_store(f"chdb://{tmp_path / 'store'}")
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def store(empty_store: Store) -> Store:
    """A chdb store with every migration applied."""
    migrate(empty_store, load_migrations())
    return empty_store


def _server_binary() -> str | None:
    found = shutil.which("clickhouse-server")
    if found:
        return found
    for candidate in ("/usr/sbin/clickhouse-server", "/usr/bin/clickhouse-server"):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


_CONFIG = """<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>{dir}/server.log</log>
    <errorlog>{dir}/server.err.log</errorlog></logger>
  <tcp_port>{port}</tcp_port>
  <listen_host>127.0.0.1</listen_host>{tls}
  <path>{dir}/data/</path>
  <tmp_path>{dir}/tmp/</tmp_path>
  <user_files_path>{dir}/user_files/</user_files_path>
  <format_schema_path>{dir}/format_schemas/</format_schema_path>
  <mark_cache_size>67108864</mark_cache_size>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
  <users_config>users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
</yandex>
"""
_TLS = """
  <tcp_port_secure>{port}</tcp_port_secure>
  <openSSL><server>
    <certificateFile>{dir}/server.crt</certificateFile>
    <privateKeyFile>{dir}/server.key</privateKeyFile>
    <verificationMode>none</verificationMode>
    <loadDefaultCAFile>false</loadDefaultCAFile>
    <disableProtocols>sslv2,sslv3</disableProtocols>
  </server></openSSL>"""
_USERS = """<?xml version="1.0"?>
<yandex>
  <profiles><default/></profiles>
  <users>
    <default><password></password><networks><ip>127.0.0.1</ip></networks>
      <profile>default</profile><quota>default</quota></default>
    <ccpipe><password>{password}</password><networks><ip>127.0.0.1</ip></networks>
      <profile>default</profile><quota>default</quota></ccpipe>
  </users>
  <quotas><default/></quotas>
</yandex>
"""


@dataclass
class ClickHouseServer:
    """Debian's clickhouse-server (18.16) in a temp directory, on a loopback port."""

    binary: str
    directory: Path
    port: int
    secure_port: int | None = None  # TLS, when openssl could make a certificate
    process: subprocess.Popen[bytes] | None = None

    @property
    def certificate(self) -> Path:
        return self.directory / "server.crt"

    def url(self, database: str = "ccpipe_test", user: str = "ccpipe") -> str:
        """No password in it: tests give it through the environment or a file."""
        return f"clickhouse://{user}@127.0.0.1:{self.port}/{database}"

    def start(self, deadline_s: float = 30.0) -> None:
        config = self.directory / "config.xml"
        tls = ""
        if self.secure_port is not None:
            tls = _TLS.format(dir=self.directory, port=self.secure_port)
        config.write_text(_CONFIG.format(dir=self.directory, port=self.port, tls=tls))
        (self.directory / "users.xml").write_text(_USERS.format(password=SERVER_PASSWORD))
        self.process = subprocess.Popen(
            [self.binary, f"--config-file={config}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._wait_ready(deadline_s)

    def _wait_ready(self, deadline_s: float) -> None:
        deadline = time.monotonic() + deadline_s
        # `default` has an empty password, given in the URL so that no
        # CCPIPE_STORE_PASSWORD a test has set applies.
        probe = open_store(f"clickhouse://default:@127.0.0.1:{self.port}/default")
        try:
            while True:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise RuntimeError(f"clickhouse-server exited early:\n{self.log_tail()}")
                try:
                    probe.query("SELECT 1")
                    return
                except StoreUnavailable:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
        finally:
            probe.close()

    def log_tail(self, lines: int = 30) -> str:
        """The end of its error log (warnings and errors only, as configured)."""
        return log_tail(self.directory / "server.err.log", lines)

    def kill(self) -> None:
        """Die at once, as a crashed or unplugged server does (a graceful stop of 18.16
        waits 10 s for idle client connections)."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
        self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


def _self_signed_certificate(directory: Path) -> bool:
    """A certificate for 127.0.0.1 (server.crt, server.key), if openssl is installed."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return False
    done = subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-keyout",
            str(directory / "server.key"),
            "-out",
            str(directory / "server.crt"),
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


@pytest.fixture(scope="session")
def clickhouse_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClickHouseServer]:
    binary = _server_binary()
    if binary is None:
        pytest.skip(
            "clickhouse-server is not installed (apt-get install clickhouse-server); "
            "the native store tests need a real server"
        )
    directory = tmp_path_factory.mktemp("clickhouse")
    server = ClickHouseServer(binary, directory, _free_port())
    if _self_signed_certificate(directory):
        server.secure_port = _free_port()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def running_server(clickhouse_server: ClickHouseServer) -> ClickHouseServer:
    """The session's server, started again if a test stopped it."""
    if clickhouse_server.process is None:
        clickhouse_server.start()
    return clickhouse_server


__all__ = ["kafka_broker", "kafka_sasl", "kafka_settings", "topic_prefix"]
