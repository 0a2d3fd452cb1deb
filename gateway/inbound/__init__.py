"""Inbound aggregator webhooks: one parser module per source, plus authentication."""
