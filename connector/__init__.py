"""refund-connector: decide marketplace refund cases by policy, answer before every deadline."""

from __future__ import annotations

__version__ = "0.1.0"
