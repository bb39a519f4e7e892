"""The source registry: every dataset medprep reads, one module each.

Adding a source = one module in this package exposing ``SPEC`` + one line in :data:`BUILTINS`.
A run builds its own registry with :func:`build_registry` (the built-ins plus that run's
user-defined sources), so nothing global changes during a run and a long-lived worker process
never keeps a stale definition of a user-defined source.
"""

from __future__ import annotations

from tasks.ingest.sources import chinese_dialogue, datatang_qa, delicate_medical, medical_o1, medical_o1_verifiable
from tasks.ingest.sources.base import Registry, SourceSpec

BUILTINS: tuple[SourceSpec, ...] = (
    medical_o1.SPEC,
    medical_o1_verifiable.SPEC,
    delicate_medical.SPEC,
    datatang_qa.SPEC,
    chinese_dialogue.SPEC,
)


def build_registry(custom_sources=None) -> Registry:
    """A new registry: the built-in sources plus the user-defined ones of ``custom_sources``
    (config dicts, or the path of a JSON/TOML file; see :mod:`tasks.ingest.sources.custom`)."""
    from tasks.ingest.sources.custom import custom_specs

    registry = Registry()
    for spec in BUILTINS:
        registry.register(spec)
    for spec in custom_specs(custom_sources):
        registry.register(spec)
    return registry


# the built-in sources only; never changed (a run's sources come from build_registry)
REGISTRY = build_registry()

__all__ = ["BUILTINS", "REGISTRY", "Registry", "SourceSpec", "build_registry"]
