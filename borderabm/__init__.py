"""borderabm: an agent-based simulator of border policy on the Pakistan-Afghanistan border."""

__version__ = "0.1.0"
