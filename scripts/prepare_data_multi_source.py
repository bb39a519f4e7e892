#!/usr/bin/env python3
"""The seed guide's `prepare_data_multi_source.py`, as a thin entry onto `medprep prepare`.

    python3 scripts/prepare_data_multi_source.py                      # sources in priority order until one loads
    python3 scripts/prepare_data_multi_source.py medical-o1
    python3 scripts/prepare_data_multi_source.py medical-o1,datatang-qa
    DATASET_CHOICE=medical-o1 python3 scripts/prepare_data_multi_source.py

Same code path, arguments, outputs (data/processed, data/rl, data/DATA_CARD.md) as `medprep prepare`;
every `medprep prepare` option works here too (--help lists them).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable from a clone without installing

from flows.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["prepare", *sys.argv[1:]], prog=Path(sys.argv[0]).name))
