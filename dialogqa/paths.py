"""Where dialogqa keeps what it derives once from installed files (converted and packed model
weights, the sentence encoder's extracted weights): ``$DIALOGQA_CACHE`` or ``~/.cache/dialogqa``."""

import logging
import os
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)


def cache_root() -> Path:
    return Path(os.environ.get("DIALOGQA_CACHE") or Path.home() / ".cache" / "dialogqa")


def write_cached(path: Path, write: Callable[[Path], None], what: str) -> bool:
    """``write`` a cache file to a temporary name beside ``path``, then rename it into place
    (atomic: a concurrent start sees no file or the whole one). A cache that cannot be written
    only costs the next start the work again: a warning, False."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        write(tmp)
        tmp.replace(path)
    except OSError as exc:
        log.warning(f"cannot cache {what} in {path.parent} ({exc})")
        tmp.unlink(missing_ok=True)
        return False
    return True
