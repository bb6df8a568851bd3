"""The dialogue engine: one conversation's history, focus, prompt, grounding and scoring.

``DialogueSession.ask(text) -> Turn`` is the core with no UI: the commands, the TUI, replay,
training and the tests only call it. May import ``records``, ``errors``, ``kg`` and ``model``
(through its narrow contract); never the commands, the TUI, ``train`` or ``datasets``.
Reports through return values and callbacks (a finished turn, progress); prints nothing.
"""
