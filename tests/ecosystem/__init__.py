"""Integrations a site builder expects: API v2 and DRF fields, StreamField, caches, plain Django."""
