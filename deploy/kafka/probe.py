"""Exit 0 when a Kafka broker at BOOTSTRAP answers a metadata request that lists a broker.

Used by kafka.sh to wait for readiness: an open port is not enough, since a KRaft broker
listens before it has caught up with the controller and can serve metadata.

    python deploy/kafka/probe.py 127.0.0.1:9092 [--timeout 2]
"""

from __future__ import annotations

import argparse
import sys


def broker_answers(bootstrap: str, timeout_s: float) -> bool:
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    timeout_ms = int(timeout_s * 1000)
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap,
            client_id="ccpipe-probe",
            request_timeout_ms=timeout_ms,
            bootstrap_timeout_ms=timeout_ms,
        )
    except (KafkaError, OSError):
        return False
    try:
        cluster = admin.describe_cluster()
    except (KafkaError, OSError):
        return False
    finally:
        admin.close()
    return bool(cluster.get("brokers"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("bootstrap", help="host:port of the broker")
    parser.add_argument("--timeout", type=float, default=2.0, help="seconds per request")
    args = parser.parse_args()
    return 0 if broker_answers(args.bootstrap, args.timeout) else 1


if __name__ == "__main__":
    sys.exit(main())
