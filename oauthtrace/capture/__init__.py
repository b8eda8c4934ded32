"""Capture: the mitmproxy Recorder addon, its writer process, and the in-process proxy runner."""
