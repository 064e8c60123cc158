"""Infrastructure every fake platform shares: serving, clock, ledger, faults (no protocol code)."""
