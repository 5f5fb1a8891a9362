"""The Grafana dashboard of f5-linkerd-monitor, generated with grafana-foundation-sdk.

`generate.py` builds it and writes the checked-in `f5-linkerd-monitor.json`
(`make dashboards`); `dashboards.generate.expressions()` lists its PromQL.
"""
