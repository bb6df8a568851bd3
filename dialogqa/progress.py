"""Progress drawn on the terminal for what the core reports through callbacks: a graph's load
(kg/loading.LoadReporter) and a replay (dialogue/replay.ReplayProgress) as tqdm bars on
stderr. The core never prints; the commands and the training scripts pass these in."""

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


class ReplayBar:
    """Turns done, accuracy so far, ETA; silent when stderr is not a terminal (warnings still show)."""

    def __init__(self, total: int, enabled: bool | None = None):
        from tqdm import tqdm

        enabled = sys.stderr.isatty() if enabled is None else enabled
        self.bar = tqdm(total=total, unit="turn", desc="replay", disable=not enabled,
                        dynamic_ncols=True, file=sys.stderr)
        self.right = self.scored = 0

    def turn(self, ok: bool | None) -> None:
        if ok is not None:
            self.scored += 1
            self.right += ok
            self.bar.set_postfix(acc=f"{self.right / self.scored:.3f}", refresh=False)
        self.bar.update(1)

    def warn(self, message: str) -> None:
        from dialogqa.visible import visible

        self.bar.write(visible(message), file=sys.stderr)

    def close(self) -> None:
        self.bar.close()


def replay_bar(enabled: bool | None = None):
    """What ``replay(progress=...)`` takes: a bar of ``total`` turns (made when it starts)."""
    return lambda total: ReplayBar(total, enabled)
