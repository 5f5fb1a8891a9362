"""Every view of a snapshot: /metrics, the status page, the findings and rotation documents.

Owns the metric names (`metrics`) and the exposition text (`exposition`, with the
certificate and pool-member series derived in `metrics_rows` and the series about the
exporter and its sources in `health`), the status page (`page_data`: what it
shows; `page`: the HTML), the certificate timeline that the page and the findings share
(`timeline`), each BIG-IP's whole certificate store that the timeline and the metrics
share (`store`), the findings as JSON and as a table (`findings`) and the
rotation plans as JSON and as a table (`rotation`); and how a served document is assembled
from parts rendered and compressed once while their inputs last, with its gzip copy
(`parts`). Pure: a view is a function of a
`Snapshot` (and the config), never of a source. May import `monitor.state`,
`monitor.rotation`, `monitor.checks` (its resolvers and member matching only),
`monitor.config`, `monitor.model` and `monitor.catalogue`.
"""
