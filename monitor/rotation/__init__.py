"""The trust-anchor rotation planner: where each boundary stands, and the next safe step.

Owns the planner (`plan`: `plan_rotation`, `remember`, the phases), the inputs it resolves
for one boundary (`context`), the phase rules (`rules`), the broken cases and their fixes
(`broken`) and the wording of each step (`steps`). Pure: no I/O, no clock reads. May
import the shared modules of `monitor.checks` (`outcome`, `resolve`, `common`) and the
trust family's `inputs`, `monitor.policy`, `monitor.certs`, `monitor.config` and
`monitor.model`.
"""
