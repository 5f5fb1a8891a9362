"""The simulated BIG-IP: devices on HTTPS that answer as iControl REST does.

Owns the typed specs read from a scenario's `bigip:` section (`spec`, `spec_config`), the
devices as data (`model`), the objects rendered from them (`ltm`, `certs`,
`cm`, `links`), the REST semantics: token auth, queries, paging and util/bash
(`auth`, `query`, `bash`), and the servers (`server`). Shapes follow the captured
responses in research/f5.md. May import `monitor.simulate`'s shared modules only.
"""
