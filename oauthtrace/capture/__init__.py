"""Capture: the mitmproxy Recorder addon, its writer thread, and the in-process proxy runner."""
