"""`ccpipe rules`: write the Prometheus recording and alerting rules for the configured targets."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DESCRIPTION = """\
Generate Prometheus rules from the worker's metrics and the `targets` of the settings file:
recording rules (per queue and channel: rates of every contact counter, and the KPIs as
ratios of summed rates over 5m, 15m and 1h; the live windows' KPIs; each queue's targets as
series) and alerting rules (service level below target, ASA or abandon rate above the limit,
longest wait over the limit, a queue gone silent, workers down, pipeline lag, dead-letter
surge). Files are overwritten; check them with `promtool check rules DIR/*.yml`.

example: ccpipe rules --config deploy/ccpipe.yaml --out deploy/prometheus/rules/
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "rules",
        help="generate Prometheus recording and alerting rules from the targets",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", help="YAML settings file with `targets` ($CCPIPE_CONFIG)")
    parser.add_argument(
        "--out",
        default="deploy/prometheus/rules",
        help="directory to write the rule files into (default: deploy/prometheus/rules)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pipeline.config import ConfigError, load_settings
    from pipeline.rules import rule_files

    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"ccpipe rules: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, text in rule_files(settings.targets, settings.source).items():
        (out / name).write_text(text, encoding="utf-8")
        print(out / name)
    return 0
