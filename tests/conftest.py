"""Suite-wide settings: in CI (``CI=true``) Hypothesis replays fixed examples, so a run is
reproducible; developers' runs keep exploring new ones."""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
    settings.load_profile("ci")
