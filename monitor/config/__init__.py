"""The expected state: the config file, read strictly into frozen dataclasses.

Owns the config format (`schema`: every section, its defaults and cross-field rules;
`fields`: the validated field types such as names, URLs and listen addresses), the generic
YAML-to-dataclass decoding with path-named errors (`decode`), strict YAML loading shared
with scenario files (`strictyaml`), Prometheus-style durations (`durations`), bounded file
reads (`files`), and the files the config and its kubeconfig name (`named_files`,
`kubeconfig`).
May import `monitor.catalogue` only: everything else builds on the config, not the reverse.
"""
