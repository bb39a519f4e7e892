"""The source registry: every dataset medprep reads, one module each.

Adding a source = one module in this package exposing ``SPEC`` + one ``REGISTRY.register`` line.
"""

from __future__ import annotations

from tasks.ingest.sources import chinese_dialogue, datatang_qa, delicate_medical, medical_o1, medical_o1_verifiable
from tasks.ingest.sources.base import Registry, SourceSpec

REGISTRY = Registry()
REGISTRY.register(medical_o1.SPEC)
REGISTRY.register(medical_o1_verifiable.SPEC)
REGISTRY.register(delicate_medical.SPEC)
REGISTRY.register(datatang_qa.SPEC)
REGISTRY.register(chinese_dialogue.SPEC)

__all__ = ["REGISTRY", "SourceSpec"]
