"""Repo-root conftest: makes `flows`, `tasks`, `expectations` importable without installing."""
