"""Outbound aggregator clients: one module per aggregator, each translating the RMS Magic
shapes to and from its native API (SPEC §8)."""
