"""How ccpipe's Kafka clients reach the broker: bootstrap servers plus security, in one value.

One `BrokerConnection` is read from the settings and environment, then turned into keyword
arguments for each client library ccpipe uses: kafka-python (admin, `ccpipe produce`),
aiokafka, and Faust (`broker` + `broker_credentials`). Keeping the mapping here means TLS and
SASL are configured once, the same way, for every process.

Sources, first found wins: a `Settings` attribute of the same name (once the settings carry
it), then the environment:

    CCPIPE_BROKER_SECURITY_PROTOCOL   PLAINTEXT (default), SSL, SASL_PLAINTEXT, SASL_SSL
    CCPIPE_BROKER_SASL_MECHANISM      PLAIN (default for SASL), SCRAM-SHA-256, SCRAM-SHA-512
    CCPIPE_BROKER_USERNAME            SASL user
    CCPIPE_BROKER_PASSWORD            SASL password, or
    CCPIPE_BROKER_PASSWORD_FILE       a file holding it (a mounted secret); one of the two
    CCPIPE_BROKER_CA_FILE             PEM CA bundle that signed the broker's certificate
    CCPIPE_BROKER_CERT_FILE           client certificate (PEM) for mutual TLS, with
    CCPIPE_BROKER_KEY_FILE            its private key
    CCPIPE_BROKER_CHECK_HOSTNAME      true (default) / false

The password is read from the environment or a file only, never from the settings file, and
never appears in a repr, a log line or an error message.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.config import ConfigError, Settings

SECURITY_PROTOCOLS: tuple[str, ...] = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS: tuple[str, ...] = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def bootstrap_servers(broker: str) -> list[str]:
    """`kafka://h1:9092;h2:9092`, `h1:9092,h2:9092` or `h1` to `["h1:9092", ...]`."""
    servers = []
    for part in broker.replace(";", ",").split(","):
        part = part.strip()
        if part.startswith("kafka://"):
            part = part[len("kafka://") :]
        part = part.rstrip("/")
        if not part:
            continue
        if ":" not in part.rsplit("]", 1)[-1]:
            part = f"{part}:9092"
        servers.append(part)
    if not servers:
        raise ConfigError(f"broker {broker!r} names no host")
    return servers


@dataclass(frozen=True)
class BrokerConnection:
    """Where the brokers are and how to authenticate; the password is kept out of repr."""

    bootstrap: tuple[str, ...]
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    check_hostname: bool = True

    def __post_init__(self) -> None:
        protocol = self.security_protocol
        if protocol not in SECURITY_PROTOCOLS:
            raise ConfigError(
                f"broker security protocol {protocol!r} is not one of "
                f"{', '.join(SECURITY_PROTOCOLS)}"
            )
        if self.uses_sasl:
            if self.sasl_mechanism not in SASL_MECHANISMS:
                raise ConfigError(
                    f"SASL mechanism {self.sasl_mechanism!r} is not one of "
                    f"{', '.join(SASL_MECHANISMS)}"
                )
            if not self.username:
                raise ConfigError(f"{protocol} needs a user name: set CCPIPE_BROKER_USERNAME")
            if not self.password:
                raise ConfigError(
                    f"{protocol} needs a password: set CCPIPE_BROKER_PASSWORD or "
                    "CCPIPE_BROKER_PASSWORD_FILE"
                )
        elif self.sasl_mechanism or self.username:
            raise ConfigError(
                f"a SASL mechanism or user name is set but the security protocol is {protocol}: "
                "set CCPIPE_BROKER_SECURITY_PROTOCOL=SASL_SSL (or SASL_PLAINTEXT)"
            )
        if (self.cert_file is None) != (self.key_file is None):
            raise ConfigError(
                "mutual TLS needs both CCPIPE_BROKER_CERT_FILE and CCPIPE_BROKER_KEY_FILE"
            )
        for what, path in (("CA", self.ca_file), ("certificate", self.cert_file),
                           ("key", self.key_file)):  # fmt: skip
            if path is not None and not Path(path).is_file():
                raise ConfigError(f"broker TLS {what} file {path} does not exist")

    @property
    def uses_sasl(self) -> bool:
        return self.security_protocol.startswith("SASL_")

    @property
    def uses_tls(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        env: Mapping[str, str] | None = None,
        broker: str | None = None,
    ) -> BrokerConnection:
        """Read from `settings.broker` (or `broker`, e.g. a --broker flag) and the environment."""
        env = os.environ if env is None else env

        def value(name: str) -> str | None:
            found = getattr(settings, f"broker_{name}", None)
            if found in (None, ""):
                found = env.get(f"CCPIPE_BROKER_{name.upper()}") or None
            return None if found is None else str(found)

        protocol = (value("security_protocol") or "PLAINTEXT").upper()
        mechanism = value("sasl_mechanism")
        if mechanism is None and protocol.startswith("SASL_"):
            mechanism = "PLAIN"
        check = (value("check_hostname") or "true").strip().lower()
        if check not in _TRUE + _FALSE:
            raise ConfigError(f"CCPIPE_BROKER_CHECK_HOSTNAME: {check!r} is not true or false")
        return cls(
            bootstrap=tuple(bootstrap_servers(broker or settings.broker)),
            security_protocol=protocol,
            sasl_mechanism=mechanism.upper() if mechanism else None,
            username=value("username"),
            password=_password(env),
            ca_file=value("ca_file"),
            cert_file=value("cert_file"),
            key_file=value("key_file"),
            check_hostname=check in _TRUE,
        )

    @property
    def bootstrap_string(self) -> str:
        return ",".join(self.bootstrap)

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context for SSL and SASL_SSL; None for plaintext protocols."""
        if not self.uses_tls:
            return None
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=self.ca_file)
        if self.cert_file is not None:
            context.load_cert_chain(self.cert_file, self.key_file)
        if not self.check_hostname:
            context.check_hostname = False
        return context

    def kafka_python_kwargs(self) -> dict[str, Any]:
        """For kafka-python's KafkaProducer, KafkaConsumer and KafkaAdminClient."""
        kwargs: dict[str, Any] = {
            "bootstrap_servers": list(self.bootstrap),
            "security_protocol": self.security_protocol,
        }
        if self.uses_sasl:
            kwargs["sasl_mechanism"] = self.sasl_mechanism
            kwargs["sasl_plain_username"] = self.username
            kwargs["sasl_plain_password"] = self.password
        if self.uses_tls:
            kwargs["ssl_context"] = self.ssl_context()
        return kwargs

    def aiokafka_kwargs(self) -> dict[str, Any]:
        """For aiokafka's producer, consumer and admin client: the same names as kafka-python."""
        return self.kafka_python_kwargs()

    def faust_kwargs(self) -> dict[str, Any]:
        """For `faust.App(...)`: `broker` URLs and `broker_credentials` (None for PLAINTEXT)."""
        import faust

        credentials: Any = None
        if self.uses_sasl:
            credentials = faust.SASLCredentials(
                username=self.username,
                password=self.password,
                ssl_context=self.ssl_context(),
                mechanism=self.sasl_mechanism,
            )
        elif self.uses_tls:
            credentials = faust.SSLCredentials(self.ssl_context())
        return {
            "broker": [f"kafka://{server}" for server in self.bootstrap],
            "broker_credentials": credentials,
        }


def _password(env: Mapping[str, str]) -> str | None:
    direct = env.get("CCPIPE_BROKER_PASSWORD") or None
    path = env.get("CCPIPE_BROKER_PASSWORD_FILE") or None
    if direct is not None and path is not None:
        raise ConfigError("set only one of CCPIPE_BROKER_PASSWORD and CCPIPE_BROKER_PASSWORD_FILE")
    if path is None:
        return direct
    try:
        # A secret file usually ends with a newline that is not part of the password.
        return Path(path).read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as exc:
        raise ConfigError(
            f"cannot read CCPIPE_BROKER_PASSWORD_FILE {path}: {exc.strerror}"
        ) from None
