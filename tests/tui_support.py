"""Helpers for the terminal UI tests: what is on the screen, and waiting until the UI has read its data."""

from __future__ import annotations

import asyncio
import os
import time

import pytest

UPDATE_SNAPSHOTS = "OAUTHTRACE_UPDATE_SNAPSHOTS"


def snapshot_update_requested() -> bool:
    """Whether this run rewrites the SVG snapshots instead of comparing with them. Refused in CI (`CI` set): a
    rewrite there would make any screen pass; snapshots are refreshed by a person who has looked at the new one."""
    if not os.environ.get(UPDATE_SNAPSHOTS):
        return False
    if os.environ.get("CI"):
        pytest.fail(f"{UPDATE_SNAPSHOTS} is set while CI is: snapshots are never rewritten in CI, only compared "
                    f"(unset {UPDATE_SNAPSHOTS})", pytrace=False)
    return True


def screen_text(app) -> str:
    """The characters currently on the app's screen, one line per row (what a person would read)."""
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(segment.text for segment in strip) for strip in strips)


async def settle(pilot, until=None, timeout: float = 10.0) -> None:
    """Let workers finish and messages land; with `until`, keep going until it returns true."""
    deadline = time.monotonic() + timeout
    while True:
        await pilot.app.workers.wait_for_complete()
        await pilot.pause(0.05)
        await pilot.wait_for_scheduled_animations()  # e.g. a tab's underline sliding over
        if until is None or until():
            await pilot.pause(0.05)
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting; screen:\n{screen_text(pilot.app)}")
        await asyncio.sleep(0.05)


def widget_text(app, widget) -> str:
    """The characters drawn inside `widget`'s region (a pane of a side-by-side layout), one line per row."""
    strips = app.screen._compositor.render_strips()
    region = widget.content_region
    lines = []
    for strip in strips[region.y:region.bottom]:
        lines.append("".join(segment.text for segment in strip.crop(region.x, region.right)))
    return "\n".join(lines)


def flat(text: str) -> str:
    """Words joined by single spaces, so a sentence wrapped over lines still reads as one."""
    return " ".join(text.split())


def notices(app) -> list[str]:
    """The messages of the notifications (toasts) the app has shown and not yet expired."""
    return [notification.message for notification in app._notifications]
