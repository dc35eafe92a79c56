"""TaskRouter event callbacks over HTTP (`ccpipe ingest --http`) into the input topic.

    POST (form-encoded callback, or JSON with `bodySHA256`; an Event Streams array is split)
      -> body over `webhook_max_body_bytes`: 413
      -> `X-Twilio-Signature` checked (signature.py): 403 if it does not sign the request
      -> each record produced to the input topic, keyed by its contact (or worker)
      -> 200 once Kafka has acknowledged every record; 503 if it did not (Twilio retries)

The receiver keeps no state: it writes the callback as it came, so conversion, with its
pairing state saved per input partition, happens in the ingest loop (the same process, or
any other of the group) exactly as for records any other producer writes. A retried callback
is converted again and gives the same event ids; a late one pairs when it comes (the
TaskRouter converter keeps each milestone of a task).

The auth token comes from CCPIPE_TWILIO_AUTH_TOKEN or the file named by the
`twilio_auth_token_file` setting; it is never logged or shown.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import orjson
from aiohttp import web
from aiokafka.errors import KafkaError

from pipeline.config import ConfigError, Settings
from pipeline.ingest.metrics import IngestMetrics
from pipeline.ingest.signature import HEADER, TwilioSigner

log = logging.getLogger("ccpipe.ingest.webhook")

TOKEN_VARIABLE = "CCPIPE_TWILIO_AUTH_TOKEN"
PATH = "/taskrouter"
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def auth_token(settings: Settings, env: Mapping[str, str] | None = None) -> str:
    """The Twilio auth token, from the environment or its file (exactly one of them)."""
    env = os.environ if env is None else env
    direct = env.get(TOKEN_VARIABLE) or None
    path = settings.twilio_auth_token_file or None
    if direct is not None and path is not None:
        raise ConfigError(f"set only one of {TOKEN_VARIABLE} and twilio_auth_token_file")
    if path is not None:
        try:
            # A secret file usually ends with a newline that is not part of the token.
            direct = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                f"cannot read twilio_auth_token_file {path}: {exc.strerror}"
            ) from None
    if not direct:
        raise ConfigError(
            f"--http needs the Twilio auth token: set {TOKEN_VARIABLE} or twilio_auth_token_file"
        )
    return direct


class TaskRouterWebhook:
    def __init__(
        self,
        signer: TwilioSigner,
        producer: Any,
        topic: str,
        key_of: Callable[[bytes], bytes | None],
        metrics: IngestMetrics,
        public_url: str = "",
        max_body_bytes: int = 65536,
    ) -> None:
        self.signer = signer
        self.producer = producer
        self.topic = topic
        self.key_of = key_of
        self.metrics = metrics
        self.public_url = public_url
        self.max_body_bytes = max_body_bytes

    def app(self) -> web.Application:
        app = web.Application(client_max_size=self.max_body_bytes)
        app.router.add_post(PATH, self.handle)
        app.router.add_post("/", self.handle)
        return app

    def signed_url(self, request: web.Request) -> str:
        """The URL Twilio requested: the configured public one (behind a proxy), with the
        request's query string, or the request's own."""
        if not self.public_url:
            return str(request.url)
        query = request.rel_url.query_string
        return f"{self.public_url}?{query}" if query else self.public_url

    async def handle(self, request: web.Request) -> web.Response:
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return self._answer(413, "too_large")
        url = self.signed_url(request)
        signature = request.headers.get(HEADER)
        if request.content_type == FORM:
            try:
                params = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
            except UnicodeDecodeError:
                return self._answer(400, "bad_request")
            valid = self.signer.valid(url, signature, params=params)
            records = [body]
        elif request.content_type == JSON:
            valid = self.signer.valid(url, signature, body=body)
            records = _json_records(body) if valid else []
        else:
            return self._answer(415, "bad_request")
        if not valid:
            log.debug("a request without a valid Twilio signature was refused")
            return self._answer(403, "bad_signature")
        try:
            deliveries = [
                await self.producer.send(self.topic, value=record, key=self._key(record))
                for record in records
            ]
            for delivery in deliveries:
                await delivery
        except (TimeoutError, KafkaError, OSError) as exc:  # Twilio retries
            log.warning("a callback could not be written to %s: %s", self.topic, exc)
            return self._answer(503, "unavailable")
        return self._answer(200, "accepted")

    def _key(self, record: bytes) -> bytes | None:
        from pipeline.adapters import AdapterError

        try:
            return self.key_of(record)
        except AdapterError:
            return None  # signed but unreadable: ingest dead-letters it with its reason

    def _answer(self, status: int, outcome: str) -> web.Response:
        self.metrics.webhook_requests.labels(outcome).inc()
        return web.Response(status=status)


def _json_records(body: bytes) -> list[bytes]:
    """A JSON object is one record; an Event Streams array holds one CloudEvent each."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return [body]  # signed, so Twilio's: the converter dead-letters it with its reason
    if isinstance(data, list):
        return [orjson.dumps(item) for item in data]
    return [body]
