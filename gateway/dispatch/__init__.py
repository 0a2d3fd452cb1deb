"""Outbound delivery: signing (Standard Webhooks), destination safety, the HTTP sender."""
