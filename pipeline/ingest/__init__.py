"""The ingest stage: platform input, one record per Kafka message, to the contract's batches.

    input topic (v1 events or platform records, one per message; TaskRouter callbacks over
    HTTP land here too) -> convert + validate (records.py) -> pack per events partition by the
    contract key (batches.py) -> produce batch messages -> state (state.py) -> commit

A plain aiokafka loop (loop.py), not Faust: the worker pays per Kafka message, ingest pays
per event. Wired in service.py; docs/ingest.md says why it is shaped like this.
"""
