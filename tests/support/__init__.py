"""Helpers shared by test packages: a loopback HTTP server and throw-away TLS certificates."""
