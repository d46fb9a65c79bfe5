"""Hypothesis profiles for the fuzz tests.

`ci` (the default) keeps the whole suite fast; `deep` (HYPOTHESIS_PROFILE=deep) runs many more
examples for a local soak. No example database: failures print the reproducing example and seed,
and nothing is written into the checkout.
"""

import os

from hypothesis import HealthCheck, settings

# The app fixtures are built once per test and shared by its examples on purpose: each example
# counts rows before and after itself, so the examples need no fresh database of their own.
SHARED_FIXTURES = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]

settings.register_profile("ci", max_examples=60, deadline=None, database=None, suppress_health_check=SHARED_FIXTURES)
settings.register_profile(
    "deep", max_examples=2_000, deadline=None, database=None, suppress_health_check=SHARED_FIXTURES
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
