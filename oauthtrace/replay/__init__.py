"""Replay recorded exchanges against a fixed server, serve a recording as a stub provider, run recordings as tests."""
