"""Progress drawn on the terminal for what the core reports through callbacks: a graph's load
(kg/loading.py's LoadReporter) as a tqdm bar plus a closing line, on stderr only when it is
a terminal."""

from __future__ import annotations

import sys


class TerminalLoadReporter:
    """A bar of bytes read, with triples loaded and their rate; "loaded N triples in S s"."""

    def __init__(self) -> None:
        self.bar = None

    def start(self, name: str, total_bytes: int) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=total_bytes, unit="B", unit_scale=True, unit_divisor=1024,
                        desc=f"loading {name}", file=sys.stderr, leave=False, mininterval=0.5)

    def update(self, new_bytes: int, triples: int) -> None:
        if self.bar is None:
            return
        if new_bytes:
            self.bar.update(new_bytes)
        rate = triples / max(self.bar.format_dict["elapsed"], 1e-9)
        self.bar.set_postfix_str(f"{triples:,} triples, {rate:,.0f}/s", refresh=False)

    def finish(self, triples: int, seconds: float) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        print(f"loaded {triples:,} triples in {seconds:.1f} s", file=sys.stderr)

    def note(self, text: str) -> None:
        print(text, file=sys.stderr, flush=True)


def load_reporter(enabled: bool | None = None) -> TerminalLoadReporter | None:
    """A reporter when stderr is a terminal (or ``enabled``), else None: no progress."""
    enabled = sys.stderr.isatty() if enabled is None else enabled
    return TerminalLoadReporter() if enabled else None
