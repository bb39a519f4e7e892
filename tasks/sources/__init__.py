"""The source registry: every dataset medprep reads, one module each.

Adding a source = one module in this package exposing ``SPEC`` + one ``REGISTRY.register`` line.
"""

from __future__ import annotations

from tasks.sources import medical_o1
from tasks.sources.base import Registry, SourceSpec

REGISTRY = Registry()
REGISTRY.register(medical_o1.SPEC)

__all__ = ["REGISTRY", "SourceSpec"]
