"""dialogqa: conversational question answering over RDF knowledge graphs."""

__version__ = "0.1.0"
