"""docs/ingest.md's metrics table is the catalogue's ingest series, no more, no fewer."""

from __future__ import annotations

import re
from pathlib import Path

from pipeline.core.catalogue import INGEST_METRICS

DOC = (Path(__file__).resolve().parents[2] / "docs" / "ingest.md").read_text()


def test_the_metrics_table_is_the_catalogue_s_ingest_series() -> None:
    rows = re.findall(r"^\| `(ccpipe_\w+)(?:\{([\w,]+)\})?` \|", DOC, re.M)
    documented = {name: tuple(sorted(labels.split(","))) if labels else () for name, labels in rows}
    assert documented == {m.name: tuple(sorted(m.labels)) for m in INGEST_METRICS}
