"""What the chat tests share: a tiny graph, sessions over a scripted model, and ways to drive
the window (type, wait) and read it (texts of widgets, the whole screen as text).

Everything runs for real except the language model: a ``DialogueSession`` over a tiny
in-memory graph, with a ``ScriptedModel`` whose replies are queued.
"""

from __future__ import annotations

import asyncio
import functools
import io
import threading
import time

from rich.console import Console
from rich.text import Text

from dialogqa.dialogue.session import DialogueSession
from dialogqa.kg.base import open_kg
from scripted import ScriptedModel
from dialogqa.tui.widgets import BotMessage

SIZE = (100, 30)

TINY = """\
@prefix ex: <http://example.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:Norway rdfs:label "Norway"@en ; ex:capital ex:Oslo ; ex:population 5400000 .
ex:Oslo rdfs:label "Oslo"@en ; ex:country ex:Norway .
ex:Sweden rdfs:label "Sweden"@en ; ex:capital ex:Stockholm .
ex:Stockholm rdfs:label "Stockholm"@en .
ex:capital rdfs:label "capital"@en .
ex:country rdfs:label "country"@en .
ex:population rdfs:label "population"@en .
"""

OTHER = """\
@prefix ex: <http://example.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:Peru rdfs:label "Peru"@en ; ex:capital ex:Lima .
ex:Lima rdfs:label "Lima"@en .
ex:capital rdfs:label "capital"@en .
"""

CAPITAL = ("The capital of Norway is Oslo.", {"capital": 0.9})
POPULATION = ("About 5,400,000 people live there.", {"population": 0.95})


def app_test(fn):
    """Run an async Pilot scenario as a plain test (no pytest-asyncio needed)."""

    @functools.wraps(fn)
    def run(*args, **kwargs):
        asyncio.run(fn(*args, **kwargs))

    return run


def write_graph(folder, text: str = TINY, name: str = "tiny.ttl"):
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def make_session(graph_file, *replies, model=None, record=None, **kwargs) -> DialogueSession:
    """A session over ``graph_file`` answering ``replies``; ``record``: a transcript file the
    session is recorded into, as the chat does."""
    from dialogqa.dialogue.transcript import Recording

    model = model or ScriptedModel()
    for text, relevance in replies:
        model.enqueue(text, relevance=relevance)
    session = DialogueSession(open_kg(files=[str(graph_file)]), model, kg_files=[graph_file], **kwargs)
    if record is not None:
        session.recording = Recording(record, resume=kwargs.get("conversation_id"))
    return session


class GatedModel(ScriptedModel):
    """Streams the first word, then waits until the test opens the gate."""

    def __init__(self):
        super().__init__()
        self.gate = threading.Event()

    def decode(self, max_new_tokens=48):
        for i, piece in enumerate(super().decode(max_new_tokens)):
            if i == 1:
                self.gate.wait(5)
            yield piece


# ---- reading the window --------------------------------------------------------------

def plain(content) -> str:
    """What a widget's content reads as (a Text, or a rich Table such as the help)."""
    if isinstance(content, str | Text):
        return str(content)
    console = Console(width=120, record=True, file=io.StringIO())
    console.print(content)
    return console.export_text()


def log_texts(app, kind) -> list[str]:
    return [plain(w.content) for w in app.query(f"#log {kind.__name__}")]


def notes(app) -> list[str]:
    return [plain(w.content) for w in app.query("#log Note")]


def errors(app) -> list[str]:
    return [str(w.content) for w in app.query("#log Note.error")]


def answers(app) -> list[str]:
    return [b.text for b in app.query(BotMessage)]


def status(app) -> str:
    return str(app.query_one("#status").content)


def panel_text(app, part: str) -> str:
    """``part``: answer, facts or neighbours."""
    return str(app.query_one(f"#ev-{part}").content)


def screen_text(app) -> str:
    """The whole screen as plain text, as a person would read it."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


# ---- driving the window --------------------------------------------------------------

async def ask(pilot, text: str, typed: bool = False) -> None:
    """Enter a line in the input; ``typed`` presses each key (slow: keep it to one test)."""
    if typed:
        await pilot.press(*text)
    else:
        pilot.app.query_one("#prompt").value = text
    await pilot.press("enter")
    await settle(pilot)


async def settle(pilot) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def wait_until(pilot, condition, timeout: float = 30.0) -> None:
    # a deadline, not a count of tries: a loaded CI machine may take seconds to repaint
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        await pilot.pause(0.02)
    assert condition()


async def until_idle(pilot) -> None:
    """Wait until the job queue is empty and no job runs (a job may start another)."""
    app = pilot.app
    await wait_until(pilot, lambda: not app._busy and not app._jobs)
    await settle(pilot)


async def type_and_settle(pilot, *lines):
    for line in lines:
        await ask(pilot, line)
