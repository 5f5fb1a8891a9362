"""The scrape benchmark: concurrent scrapers of `/metrics` served by the real `WebServer`.

`run(published, scrapers, scrapes)` serves `published` (what a cycle published) from a
`monitor.web.server.WebServer` on 127.0.0.1 in this process and starts the scrapers in a
spawned process of their own (so that they do not share this process's interpreter lock
with the server): `scrapers` threads, each on its own keep-alive connection, scraping
`/metrics` `scrapes` times back to back with `Accept-Encoding: gzip` as Prometheus does,
all starting together. A scrape is timed from sending the request to having read the whole
body; it is an error when it raises, times out (10 s), answers another status than 200,
or its body is not the published gzip copy (checked here to decompress to the exposition;
the scrapers compare bytes, so that decompressing is not part of what they time).
The result: every latency, the errors, the bytes of one answer.
"""

from __future__ import annotations

import gzip
import http.client
import math
import multiprocessing
import statistics
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from monitor.web.server import Published, WebServer

TIMEOUT = 10.0


@dataclass
class ScrapeResult:
    scrapers: int
    scrapes: int  # per scraper
    latencies: list[float] = field(default_factory=list)  # seconds
    errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)
    body_bytes: int = 0  # one gzipped answer
    text_bytes: int = 0  # the exposition it decompresses to

    def percentile(self, p: float) -> float:
        """The `p`-th percentile of the latencies in milliseconds (nearest rank)."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        rank = min(len(ordered), max(1, math.ceil(p / 100 * len(ordered))))
        return ordered[rank - 1] * 1000

    @property
    def median_ms(self) -> float:
        return statistics.median(self.latencies) * 1000 if self.latencies else float("nan")


def _scraper(port: int, scrapes: int, expected: bytes, start: Any, out: list[Any]) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    start.wait()
    for _ in range(scrapes):
        began = time.perf_counter()
        try:
            connection.request("GET", "/metrics", headers={"Accept-Encoding": "gzip"})
            answer = connection.getresponse()
            body = answer.read()
            took = time.perf_counter() - began
            if answer.status != 200:
                out.append(("error", f"http_{answer.status}"))
            elif body != expected:
                out.append(("error", "wrong_body"))
            else:
                out.append(("ok", took, len(body)))
        except (OSError, http.client.HTTPException) as err:
            out.append(("error", type(err).__name__))
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    connection.close()


def _scrapers(port: int, scrapers: int, scrapes: int, expected: bytes, conn: Any) -> None:
    start = threading.Event()
    outs: list[list[Any]] = [[] for _ in range(scrapers)]
    threads = [
        threading.Thread(target=_scraper, args=(port, scrapes, expected, start, out))
        for out in outs
    ]
    for thread in threads:
        thread.start()
    time.sleep(0.2)  # every connection made before the first scrape
    start.set()
    for thread in threads:
        thread.join()
    conn.send([item for out in outs for item in out])


def run(published: Published, scrapers: int, scrapes: int) -> ScrapeResult:
    """`scrapers` concurrent scrapers of `published`'s `/metrics`, `scrapes` each."""
    server = WebServer("127.0.0.1:0")
    server.publish(published)
    server.start()
    try:
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        expected = published.metrics_doc.gzip()
        if gzip.decompress(expected) != published.metrics:
            raise AssertionError("the gzip copy is not the exposition")
        text_bytes = published.metrics_doc.size
        proc = ctx.Process(target=_scrapers, args=(server.port, scrapers, scrapes, expected, child))
        proc.start()
        items = parent.recv()
        proc.join()
    finally:
        server.stop()
    result = ScrapeResult(scrapers, scrapes, text_bytes=text_bytes)
    for item in items:
        if item[0] == "ok":
            result.latencies.append(item[1])
            result.body_bytes = item[2]
        else:
            result.errors += 1
            result.error_kinds[item[1]] = result.error_kinds.get(item[1], 0) + 1
    return result
