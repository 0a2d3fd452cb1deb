"""rms-gateway: webhook gateway and notification router for shipping and returns."""

__version__ = "0.1.0"
