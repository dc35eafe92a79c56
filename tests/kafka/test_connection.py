"""Client settings and security: the mapping to kafka-python, aiokafka and Faust, no broker."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest

from pipeline.config import ConfigError, Settings, load_settings
from pipeline.kafka.connection import BrokerConnection, bootstrap_servers

SECRET = "s3cr3t-do-not-log"


@pytest.fixture(scope="module")
def pem(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate and its key: usable as a CA bundle and as a client cert."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("pem")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=ccpipe-test", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def connect(env: dict[str, str], broker: str = "kafka://b1:9093;b2") -> BrokerConnection:
    return BrokerConnection.from_settings(load_settings(env={}), env=env, broker=broker)


def test_bootstrap_servers_accepts_faust_urls_lists_and_bare_hosts() -> None:
    assert bootstrap_servers("kafka://b1:9093;b2") == ["b1:9093", "b2:9092"]
    assert bootstrap_servers("a:1, b:2") == ["a:1", "b:2"]
    assert bootstrap_servers("[::1]:9092") == ["[::1]:9092"]
    with pytest.raises(ConfigError):
        bootstrap_servers(" , ")


def test_plaintext_is_the_default_and_adds_nothing_else() -> None:
    connection = connect({})
    assert connection.kafka_python_kwargs() == {
        "bootstrap_servers": ["b1:9093", "b2:9092"],
        "security_protocol": "PLAINTEXT",
    }
    assert connection.aiokafka_kwargs() == connection.kafka_python_kwargs()
    faust = connection.faust_kwargs()
    assert faust == {"broker": ["kafka://b1:9093", "kafka://b2:9092"], "broker_credentials": None}


def test_settings_broker_is_used_when_no_flag_overrides_it() -> None:
    settings = load_settings(env={"CCPIPE_BROKER": "k1:19092"})
    assert BrokerConnection.from_settings(settings, env={}).bootstrap == ("k1:19092",)


def test_sasl_ssl_scram_with_a_password_file(tmp_path: Path, pem: tuple[Path, Path]) -> None:
    cert, _ = pem
    secret_file = tmp_path / "password"
    secret_file.write_text(SECRET + "\n")
    connection = connect(
        {
            "CCPIPE_BROKER_SECURITY_PROTOCOL": "sasl_ssl",
            "CCPIPE_BROKER_SASL_MECHANISM": "scram-sha-512",
            "CCPIPE_BROKER_USERNAME": "pipeline",
            "CCPIPE_BROKER_PASSWORD_FILE": str(secret_file),
            "CCPIPE_BROKER_CA_FILE": str(cert),
        }
    )
    kwargs = connection.kafka_python_kwargs()
    assert kwargs["security_protocol"] == "SASL_SSL"
    assert kwargs["sasl_mechanism"] == "SCRAM-SHA-512"
    assert kwargs["sasl_plain_username"] == "pipeline"
    # The file's trailing newline is not part of the password.
    assert kwargs["sasl_plain_password"] == SECRET
    context = kwargs["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] == 1  # exactly our CA, not the system's


def test_the_password_never_shows_in_repr_or_faust_credentials() -> None:
    connection = connect(
        {
            "CCPIPE_BROKER_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "CCPIPE_BROKER_USERNAME": "pipeline",
            "CCPIPE_BROKER_PASSWORD": SECRET,
        }
    )
    assert connection.sasl_mechanism == "PLAIN"  # the default for SASL
    assert SECRET not in repr(connection) and SECRET not in str(connection)
    credentials = connection.faust_kwargs()["broker_credentials"]
    assert SECRET not in repr(credentials)


def test_faust_credentials_reach_aiokafka_as_the_same_settings(pem: tuple[Path, Path]) -> None:
    from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

    cert, key = pem
    connection = connect(
        {
            "CCPIPE_BROKER_SECURITY_PROTOCOL": "SASL_SSL",
            "CCPIPE_BROKER_SASL_MECHANISM": "SCRAM-SHA-256",
            "CCPIPE_BROKER_USERNAME": "pipeline",
            "CCPIPE_BROKER_PASSWORD": SECRET,
            "CCPIPE_BROKER_CA_FILE": str(cert),
            "CCPIPE_BROKER_CERT_FILE": str(cert),
            "CCPIPE_BROKER_KEY_FILE": str(key),
            "CCPIPE_BROKER_CHECK_HOSTNAME": "false",
        }
    )
    auth = credentials_to_aiokafka_auth(connection.faust_kwargs()["broker_credentials"])
    assert auth["security_protocol"] == "SASL_SSL"
    assert auth["sasl_mechanism"] == "SCRAM-SHA-256"
    assert auth["sasl_plain_username"] == "pipeline"
    assert auth["sasl_plain_password"] == SECRET
    assert isinstance(auth["ssl_context"], ssl.SSLContext)
    assert auth["ssl_context"].check_hostname is False


def test_ssl_only_gives_faust_ssl_credentials(pem: tuple[Path, Path]) -> None:
    import faust

    cert, _ = pem
    connection = connect(
        {"CCPIPE_BROKER_SECURITY_PROTOCOL": "SSL", "CCPIPE_BROKER_CA_FILE": str(cert)}
    )
    assert "sasl_mechanism" not in connection.kafka_python_kwargs()
    credentials = connection.faust_kwargs()["broker_credentials"]
    assert isinstance(credentials, faust.SSLCredentials)
    assert isinstance(credentials.context, ssl.SSLContext)


def test_security_settings_on_the_settings_object_win_over_the_environment() -> None:
    settings = cast(
        Settings,
        SimpleNamespace(
            broker="b:9092", broker_security_protocol="SASL_PLAINTEXT", broker_username="s"
        ),
    )
    connection = BrokerConnection.from_settings(
        settings,
        env={
            "CCPIPE_BROKER_SECURITY_PROTOCOL": "SSL",
            "CCPIPE_BROKER_USERNAME": "env",
            "CCPIPE_BROKER_PASSWORD": SECRET,
        },
    )
    assert (connection.security_protocol, connection.username) == ("SASL_PLAINTEXT", "s")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CCPIPE_BROKER_SECURITY_PROTOCOL": "TLS"}, "is not one of"),
        ({"CCPIPE_BROKER_SECURITY_PROTOCOL": "SASL_SSL", "CCPIPE_BROKER_USERNAME": "u"},
         "needs a password"),
        ({"CCPIPE_BROKER_SECURITY_PROTOCOL": "SASL_SSL", "CCPIPE_BROKER_PASSWORD": "p"},
         "needs a user name"),
        ({"CCPIPE_BROKER_SECURITY_PROTOCOL": "SASL_SSL", "CCPIPE_BROKER_SASL_MECHANISM": "GSSAPI",
          "CCPIPE_BROKER_USERNAME": "u", "CCPIPE_BROKER_PASSWORD": "p"}, "is not one of"),
        ({"CCPIPE_BROKER_USERNAME": "u"}, "security protocol is PLAINTEXT"),
        ({"CCPIPE_BROKER_PASSWORD": "p", "CCPIPE_BROKER_PASSWORD_FILE": "/x"}, "only one of"),
        ({"CCPIPE_BROKER_PASSWORD_FILE": "/nonexistent/pw"}, "cannot read"),
        ({"CCPIPE_BROKER_SECURITY_PROTOCOL": "SSL", "CCPIPE_BROKER_CA_FILE": "/nonexistent/ca"},
         "does not exist"),
        ({"CCPIPE_BROKER_SECURITY_PROTOCOL": "SSL", "CCPIPE_BROKER_CERT_FILE": "/x"},
         "needs both"),
        ({"CCPIPE_BROKER_CHECK_HOSTNAME": "maybe"}, "is not true or false"),
    ],
)  # fmt: skip
def test_bad_security_settings_say_what_to_fix(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        connect(env)


def test_errors_never_quote_the_password() -> None:
    with pytest.raises(ConfigError) as caught:
        connect({"CCPIPE_BROKER_SASL_MECHANISM": "PLAIN", "CCPIPE_BROKER_PASSWORD": SECRET})
    assert SECRET not in str(caught.value)
