"""The HTTP server: status page, /metrics, the JSON APIs, probes, and who may ask.

Owns serving what `monitor.render` rendered (`server`: `Published`, `WebServer`), the
`server.webConfig` file in the exporter-toolkit format (`config`) and its enforcement: TLS,
client certificates and basic auth, reloaded when the file changes (`security`). May import
`monitor.render`, `monitor.state` and `monitor.config`.
"""
