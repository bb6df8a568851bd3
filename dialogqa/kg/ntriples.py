"""rdflib's N-Triples and N-Quads parsers, reading the file a line at a time in linear time.

rdflib's own ``readline`` reads 2 KB at a time and matches its line expression against
the whole buffered text after each read, so a line of n characters costs n²/2048 steps:
a 1 MB literal took 14 s to load, a 10 MB one minutes.  Here the lines come from
``io.TextIOWrapper.readline``; everything else (terms, blank nodes, errors) is rdflib's,
so the triples are exactly those rdflib's parsers make.

Registered as the rdflib parser plugins ``dialogqa-nt`` and ``dialogqa-nquads``.
"""

from __future__ import annotations

import io

from rdflib import plugin
from rdflib.parser import Parser
from rdflib.plugins.parsers.nquads import NQuadsParser
from rdflib.plugins.parsers.ntriples import NTGraphSink, W3CNTriplesParser

PARSERS = {"nt": "dialogqa-nt", "nquads": "dialogqa-nquads"}  # syntax -> plugin name


class _LineReader:
    """``readline`` for rdflib's line parsers: the next line without its end (N-Triples
    lines end in LF, CR or CRLF, as ``newline=""`` splits them), None at the end."""

    def readline(self) -> str | None:
        if not isinstance(self.file, io.TextIOBase):
            # rdflib wraps the bytes in a codecs reader, whose readline also breaks at
            # U+2028 and other characters a literal may hold: read the bytes under it
            raw = getattr(self.file, "stream", self.file)
            self.file = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        line = self.file.readline()
        return line.rstrip("\r\n") if line else None


class LinearNTriplesParser(_LineReader, W3CNTriplesParser):
    """rdflib's ``W3CNTriplesParser`` with a linear ``readline``."""


class LinearNQuadsParser(_LineReader, NQuadsParser):
    """rdflib's ``NQuadsParser`` with a linear ``readline``."""


class _NTPlugin(Parser):
    """As rdflib's ``NTParser`` plugin, parsing with ``LinearNTriplesParser``."""

    @classmethod
    def parse(cls, source, sink, **kwargs) -> None:
        stream = source.getCharacterStream() or source.getByteStream()
        LinearNTriplesParser(NTGraphSink(sink)).parse(stream, **kwargs)


plugin.register(PARSERS["nt"], Parser, __name__, "_NTPlugin")
plugin.register(PARSERS["nquads"], Parser, __name__, "LinearNQuadsParser")
