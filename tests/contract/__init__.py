"""Contract tests of the fake Close: the same suite in-process and over HTTP."""
