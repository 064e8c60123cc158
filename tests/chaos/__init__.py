"""The kill -9 chaos run (issue 8): fakes with a seeded fault profile, the real daemon process
killed and restarted, then a checker comparing the fakes' ledgers with the daemon's store.

``python -m tests.chaos --profile smoke [--json] [--seed N]`` (see docs/chaos.md).
"""
