"""Fine-tune a model on a training export: the same command as `minutekeeper train`.

    .venv/bin/python scripts/finetune.py EXPORT [--base gemma3-270m] [--name ID] [--lora] ...

Every option of `minutekeeper train --help` applies. The install whose export and lineage
are used is the one the MINUTEKEEPER_* settings name (MINUTEKEEPER_DATA_DIR,
MINUTEKEEPER_DATABASE_URL), as for the CLI.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from minutekeeper.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
