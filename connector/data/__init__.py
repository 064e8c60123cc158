"""Data files shipped with the package (the bundled public casebook)."""
