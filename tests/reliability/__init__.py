"""Bad-input battery of the public API (issue 27)."""
