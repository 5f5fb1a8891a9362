"""The daemon: the cycle, and what runs it over time.

Owns one poll-check-publish cycle (`cycle`: `Monitor`, `check_once`) and its sources' polls
(`polls`: contained, within the cycle's deadline), the scheduler and HTTP around it
(`serve`), signals and a prompt exit (`stopping`), leader election on a Lease (`leader`),
config reloads (`reload`) and `--shard i/N` (`shard`). The top of the house below
`monitor.cli`: it may import every other package (sources, checks, rotation, state, render,
alerts, web, config, model); nothing below imports it.
"""
