"""What the monitor remembers: the current snapshot, first-seen times, ignore rules.

Owns the snapshot that each cycle replaces whole (`snapshot`: `next_snapshot`,
`StateStore`), the optional state file that carries first-seen times and rotation memory
across restarts (`file`) and the ignore rules that turn accepted findings into `pass`
without hiding them (`ignore`). May import `monitor.rotation`, `monitor.config`,
`monitor.model` and `monitor.catalogue`.
"""
