"""The simulated world: a BIG-IP and a Kubernetes API served from one scenario file.

Used by `simulate`, `demo`, the tests and the benchmarks; see docs/scenario.md.
"""
