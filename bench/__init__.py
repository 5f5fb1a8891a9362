"""Benchmarks of f5-linkerd-monitor against the simulated world (`python -m bench`).

The BIG-IP poll: `world` builds a BIG-IP configuration at scale and computes the fewest
requests that read it, `simproc` serves it from a child process, `f5_poll` measures the
real BIG-IP source against it. The full cycle: `cycle_world` builds a scenario with both
BIG-IPs at that scale, many boundaries and a large meshed cluster, `cycle_sim` serves it
(BIG-IP and Kubernetes) from a child process, `full_cycle` measures every part of the real
`Monitor`'s cycles against it (through `cycle_probes`) and `full_cycle_report` writes them
up. `results.md` records the figures of both with the machine they came from.
"""
