"""The BIG-IP source: one device over iControl REST, as an `F5State` plus errors.

Owns `F5Source` (`source`) and what it is built from: HTTP, token or basic auth and the
request bound (`client`, `credentials`, login tokens in `tokens`), one poll's budget and
retries (`exchange`), paged collection reads (`paging`), pure JSON → model parsing
(`parse`, `paths`, `ha`), what each CA bundle holds (`bundles`) and the certificate files
read through util/bash (`bash`, `certfiles`). May import `monitor.sources` (errors, http,
http_errors, secrets), `monitor.model`, `monitor.config`, `monitor.certs` and
`monitor.policy.ports` (`ascii_number`, the one rule for digits read from outside).
"""
