"""The daemon: the cycle, and what runs it over time.

Owns one poll-check-publish cycle (`cycle`: `Monitor`, `check_once`), the scheduler, signals
and HTTP around it (`serve`), leader election on a Lease (`leader`), config reloads
(`reload`) and `--shard i/N` (`shard`). The top of the house below `monitor.cli`: it may
import every other package (sources, checks, rotation, state, render, alerts, web, config,
model); nothing below imports it.
"""
