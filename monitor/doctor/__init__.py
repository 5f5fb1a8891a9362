"""The `doctor` command: what the configured accounts may read, before the first cycle.

Placeholder while the package is built.
"""
