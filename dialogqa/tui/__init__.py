"""The Textual chat window, built by one factory (``app.create_app``) that the ``chat``
command and the tests share; it drives a ``DialogueSession`` from a worker thread.

May import ``records``, ``errors``, ``kg``, ``dialogue`` and ``model``; only the commands
import it.
"""
