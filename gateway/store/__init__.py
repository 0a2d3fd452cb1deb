"""Storage: one ``Store`` interface (``base``), backends ``sqlite`` and ``postgres``."""
