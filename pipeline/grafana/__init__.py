"""Grafana for ccpipe: data sources and dashboards generated from one definition in code.

- `panels`: small builders for Grafana's JSON model (queries, panels, thresholds, layout).
- `dashboards`: the dashboards (wallboard, queue detail, agents, goals, history, pipeline),
  coloured from the targets of the settings.
- `provisioning`: the data sources, and the files Grafana provisions from (`ccpipe grafana
  build`).
- `sync`: pushes data sources and dashboards to a running Grafana (`ccpipe grafana sync`).
"""
