"""Shared building blocks: schema, text, storage, caching, locking, errors, logs, run reports."""
