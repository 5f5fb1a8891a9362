"""Fuzz tests (hypothesis): every parser of outside input either parses or rejects with its
own error type, never with another exception.

Two settings profiles: `fuzz-test` (the default, a few hundred examples per target, for
`make test`) and `fuzz-deep` (at least 10,000 per target, `make fuzz`), chosen by the
environment variable `FUZZ_PROFILE`; `FUZZ_EXAMPLES=N` sets the number of examples of
either. Each test takes its settings from `FUZZ`. Samples to
mutate (real objects of the simulated world) and the strategies live in
`tests.fuzz.samples`.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
settings.register_profile(
    "fuzz-test", max_examples=200, deadline=None, suppress_health_check=_QUIET
)
settings.register_profile(
    "fuzz-deep", max_examples=10_000, deadline=None, suppress_health_check=_QUIET
)
PROFILE = os.environ.get("FUZZ_PROFILE", "fuzz-test")
FUZZ = settings.get_profile(PROFILE)
if os.environ.get("FUZZ_EXAMPLES", "").isdigit():  # a quick look deeper, or a longer one
    FUZZ = settings(FUZZ, max_examples=int(os.environ["FUZZ_EXAMPLES"]))
