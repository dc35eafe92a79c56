"""The TaskRouter receiver without a broker: 200 only once Kafka has acknowledged every
record of a callback, 503 (counted `unavailable`) when it did not, so Twilio retries; the
signed URL behind a proxy; Event Streams arrays split; the auth token from one place only."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer
from aiokafka.errors import KafkaTimeoutError
from prometheus_client import CollectorRegistry

from pipeline.config import ConfigError, load_settings
from pipeline.core.catalogue import INGEST_WEBHOOK_REQUESTS
from pipeline.ingest.metrics import IngestMetrics
from pipeline.ingest.signature import HEADER, TwilioSigner
from pipeline.ingest.webhook import TOKEN_VARIABLE, TaskRouterWebhook, auth_token

TOKEN = "unit-test-token"
TOPIC = "cc.input"
FORM = {"EventType": "task.created", "TaskSid": "WT1", "WorkerSid": "WK1"}


class Producer:
    """aiokafka's shape: `await send(...)` gives a future that resolves on the broker's ack;
    `fail` makes every delivery fail as an unreachable broker would."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.acknowledged: list[tuple[str, bytes, bytes | None]] = []

    async def send(self, topic: str, value: bytes, key: bytes | None) -> asyncio.Future[None]:
        delivery: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.fail:
            delivery.set_exception(KafkaTimeoutError())
        else:
            self.acknowledged.append((topic, value, key))
            delivery.set_result(None)
        return delivery


def _count(registry: CollectorRegistry, outcome: str) -> float:
    sample = registry.get_sample_value(INGEST_WEBHOOK_REQUESTS.name, {"outcome": outcome})
    return sample or 0.0


def _serve(
    producer: Producer,
    scenario: Callable[[TestClient[Any, Any]], Awaitable[None]],
    public_url: str = "",
) -> CollectorRegistry:
    registry = CollectorRegistry()
    metrics = IngestMetrics.create(registry)
    webhook = TaskRouterWebhook(
        TwilioSigner(TOKEN),
        producer,
        TOPIC,
        lambda record: b"key-" + hashlib.sha1(record).hexdigest()[:6].encode(),
        metrics,
        public_url=public_url,
    )

    async def run() -> None:
        async with TestClient(TestServer(webhook.app())) as client:
            await scenario(client)

    asyncio.run(run())
    return registry


def _form(client: TestClient[Any, Any], url: str | None = None) -> tuple[bytes, dict[str, str]]:
    signed = url or str(client.make_url("/taskrouter"))
    body = urlencode(FORM).encode()
    signature = TwilioSigner(TOKEN).sign(signed, list(FORM.items()))
    return body, {"Content-Type": "application/x-www-form-urlencoded", HEADER: signature}


def test_200_only_after_kafka_acknowledged_the_callback() -> None:
    producer = Producer()

    async def scenario(client: TestClient[Any, Any]) -> None:
        body, headers = _form(client)
        response = await client.post("/taskrouter", data=body, headers=headers)
        assert response.status == 200

    registry = _serve(producer, scenario)
    key = b"key-" + hashlib.sha1(urlencode(FORM).encode()).hexdigest()[:6].encode()
    assert producer.acknowledged == [(TOPIC, urlencode(FORM).encode(), key)]
    assert _count(registry, "accepted") == 1


def test_a_callback_kafka_did_not_take_is_answered_503_so_twilio_retries() -> None:
    async def scenario(client: TestClient[Any, Any]) -> None:
        body, headers = _form(client)
        assert (await client.post("/taskrouter", data=body, headers=headers)).status == 503

    registry = _serve(Producer(fail=True), scenario)
    assert _count(registry, "unavailable") == 1
    assert _count(registry, "accepted") == 0


def test_behind_a_proxy_the_public_url_is_what_is_signed() -> None:
    public = "https://ccpipe.example.com/hooks/taskrouter"

    async def scenario(client: TestClient[Any, Any]) -> None:
        body, own_url = _form(client)
        assert (await client.post("/taskrouter", data=body, headers=own_url)).status == 403
        body, public_url = _form(client, public)
        assert (await client.post("/taskrouter", data=body, headers=public_url)).status == 200

    registry = _serve(Producer(), scenario, public_url=public)
    assert (_count(registry, "bad_signature"), _count(registry, "accepted")) == (1, 1)


def test_an_event_streams_array_is_one_record_per_cloudevent() -> None:
    events = [{"type": "com.twilio.taskrouter.task.created", "id": n} for n in range(3)]
    body = orjson.dumps(events)
    producer = Producer()

    async def scenario(client: TestClient[Any, Any]) -> None:
        url = f"{client.make_url('/taskrouter')}?bodySHA256={hashlib.sha256(body).hexdigest()}"
        headers = {"Content-Type": "application/json", HEADER: TwilioSigner(TOKEN).sign(url)}
        path = url[url.index("/taskrouter") :]
        assert (await client.post(path, data=body, headers=headers)).status == 200
        other = {**headers, "Content-Type": "text/plain"}
        assert (await client.post(path, data=body, headers=other)).status == 415

    registry = _serve(producer, scenario)
    assert [orjson.loads(value) for _, value, _ in producer.acknowledged] == events
    assert _count(registry, "bad_request") == 1


def test_the_auth_token_comes_from_one_place(tmp_path: Path) -> None:
    settings = load_settings(env={})
    assert auth_token(settings, {TOKEN_VARIABLE: TOKEN}) == TOKEN
    secret = tmp_path / "token"
    secret.write_text(TOKEN + "\n")
    from_file = load_settings(env={}, twilio_auth_token_file=str(secret))
    assert auth_token(from_file, {}) == TOKEN
    with pytest.raises(ConfigError, match="only one"):
        auth_token(from_file, {TOKEN_VARIABLE: TOKEN})
    with pytest.raises(ConfigError, match=TOKEN_VARIABLE):
        auth_token(settings, {})
    missing = load_settings(env={}, twilio_auth_token_file=str(tmp_path / "none"))
    with pytest.raises(ConfigError, match="cannot read") as refused:
        auth_token(missing, {})
    assert TOKEN not in str(refused.value)
