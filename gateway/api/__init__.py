"""HTTP handlers, one module per surface (webhooks, shipments, health, ...)."""
