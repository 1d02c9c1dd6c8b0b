"""executor-local: a local integration hub for AI agents, shipped as one file."""

__version__ = "0.1.0"
