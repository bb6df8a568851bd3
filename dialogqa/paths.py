"""Where dialogqa keeps what it derives once from installed files (converted and packed model
weights, the sentence encoder's extracted weights): ``$DIALOGQA_CACHE`` or ``~/.cache/dialogqa``."""

import os
from pathlib import Path


def cache_root() -> Path:
    return Path(os.environ.get("DIALOGQA_CACHE") or Path.home() / ".cache" / "dialogqa")
