"""The browser UI (Solara)."""
