#!/usr/bin/env python3
"""The seed guide's `prepare_rl_data.py`: the RL export (`medprep prepare-rl`) from data/processed
into data/rl (verl / OpenRLHF / TRL prompts, reward.py, launch scripts). Options: --help."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable from a clone without installing

from flows.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["prepare-rl", *sys.argv[1:]], prog=Path(sys.argv[0]).name))
