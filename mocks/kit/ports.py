"""The fakes' default loopback ports: one table, so no two fakes (nor the docs) ever clash.

The connector's own console (8780) and ops endpoints (8781) sit apart from these.
Guarded by tests/mocks/test_mock_defaults.py.
"""

from __future__ import annotations

TAOBAO_PORT = 8701
JD_PORT = 8702
WAREHOUSE_PORT = 8703
DEFAULT_CASES = 30
"""Cases a fake generates when started by hand: enough to see work, few enough to read."""
