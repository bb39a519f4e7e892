"""Load a repository script that is not a package module (eval/*.py) by its path, as
``python eval/<name>.py`` would run it, so its functions can be tested on tiny inputs."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]


def load_script(relpath: str) -> ModuleType:
    """The module at ``REPO / relpath``, executed afresh (named after its file stem)."""
    path = REPO / relpath
    spec = importlib.util.spec_from_file_location(path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
