"""Benchmarks of f5-linkerd-monitor against the simulated world (`python -m bench`).

`world` builds a BIG-IP configuration at scale and computes the fewest requests that read
it, `simproc` serves it from a child process, `f5_poll` measures the real BIG-IP source
against it, and `results.md` records the figures with the machine they came from.
"""
