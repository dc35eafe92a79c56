"""SASL against the real broker's SASL_PLAINTEXT listener, configured the way operators do."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from kafka import KafkaAdminClient
from kafka.admin import ScramMechanism, UserScramCredentialUpsertion
from kafka.errors import KafkaError

from pipeline.config import load_settings
from pipeline.kafka.connection import BrokerConnection

pytestmark = pytest.mark.kafka


def connection(bootstrap: str, env: dict[str, str]) -> BrokerConnection:
    return BrokerConnection.from_settings(load_settings(env={}), env=env, broker=bootstrap)


def admin_for(conn: BrokerConnection, timeout_ms: int = 5000) -> KafkaAdminClient:
    return KafkaAdminClient(
        client_id="ccpipe-test", bootstrap_timeout_ms=timeout_ms, **conn.kafka_python_kwargs()
    )


def test_plain_with_a_password_file(kafka_sasl: tuple[str, str, str], tmp_path: Path) -> None:
    bootstrap, user, password = kafka_sasl
    secret = tmp_path / "password"
    secret.write_text(password + "\n")
    conn = connection(
        bootstrap,
        {
            "CCPIPE_BROKER_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "CCPIPE_BROKER_USERNAME": user,
            "CCPIPE_BROKER_PASSWORD_FILE": str(secret),
        },
    )
    admin = admin_for(conn)
    try:
        assert admin.describe_cluster()["brokers"]
    finally:
        admin.close()


def test_a_wrong_password_is_refused(kafka_sasl: tuple[str, str, str]) -> None:
    bootstrap, user, _ = kafka_sasl
    conn = connection(
        bootstrap,
        {
            "CCPIPE_BROKER_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "CCPIPE_BROKER_USERNAME": user,
            "CCPIPE_BROKER_PASSWORD": "wrong",
        },
    )
    # kafka-python retries a failed authentication until its bootstrap deadline.
    with pytest.raises(KafkaError):
        admin_for(conn, timeout_ms=1500).close()


def test_scram_sha_256_for_kafka_python_and_aiokafka(
    kafka_broker: str, kafka_sasl: tuple[str, str, str], topic_prefix: str
) -> None:
    from aiokafka import AIOKafkaProducer

    bootstrap, _, _ = kafka_sasl
    user, password = f"{topic_prefix}-user", "scram-test-secret"
    operator = KafkaAdminClient(bootstrap_servers=kafka_broker)
    try:
        result = operator.alter_user_scram_credentials(
            [UserScramCredentialUpsertion(user, ScramMechanism.SCRAM_SHA_256, password)]
        )
        assert result == {user: None}
    finally:
        operator.close()
    conn = connection(
        bootstrap,
        {
            "CCPIPE_BROKER_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "CCPIPE_BROKER_SASL_MECHANISM": "SCRAM-SHA-256",
            "CCPIPE_BROKER_USERNAME": user,
            "CCPIPE_BROKER_PASSWORD": password,
        },
    )
    admin = admin_for(conn)
    try:
        assert admin.describe_cluster()["brokers"]
    finally:
        admin.close()

    async def aiokafka_connects() -> None:
        # Faust's transport builds its aiokafka clients from these same settings.
        producer = AIOKafkaProducer(**conn.aiokafka_kwargs())
        await producer.start()
        await producer.stop()

    asyncio.run(asyncio.wait_for(aiokafka_connects(), timeout=20))
