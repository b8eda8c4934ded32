"""Widgets of the terminal UI, one domain per module."""
