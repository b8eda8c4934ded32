"""The terminal UI (Textual): traces, exchanges as swimlanes, hop details, live while recording."""
