"""A head's two files beside the adapter: its weights (safetensors) and its config (JSON).

The relevance head, the question head and both reranks are saved and read the same way;
each says what its config holds and checks what it reads."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from torch import nn

from dialogqa.errors import UserError


def save_head(module: nn.Module, directory: str | os.PathLike, weights_file: str, config_file: str,
              config: dict) -> None:
    from safetensors.torch import save_file

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().float().contiguous().cpu() for k, v in module.state_dict().items()},
              str(out / weights_file))
    (out / config_file).write_text(json.dumps(config, indent=1) + "\n")


def read_head(directory: str | os.PathLike, weights_file: str, config_file: str,
              build: Callable[[dict], nn.Module], what: str) -> tuple[nn.Module, dict] | None:
    """(the module ``build`` makes from the config, its weights loaded; the config), or None
    when ``directory`` holds no ``weights_file``. Unreadable files, a config ``build`` refuses
    (KeyError, ValueError) or weights that do not fit: a UserError naming the file."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(directory)
    if not (path / weights_file).is_file():
        return None
    try:
        config = json.loads((path / config_file).read_text())
        module = build(config)
        module.load_state_dict(load_file(str(path / weights_file)))
    except (OSError, ValueError, KeyError, TypeError, RuntimeError, SafetensorError) as exc:
        raise UserError(f"{path / weights_file}: not {what} ({exc})") from exc
    return module, config
