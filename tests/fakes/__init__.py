"""Fake aggregator APIs (Shiprocket, Shipway, ClickPost, Magic) for tests and local runs."""
