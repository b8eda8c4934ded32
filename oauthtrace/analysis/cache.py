"""Values derived from a hop (its parsed Location, its authorization response ...), computed once per hop.

Classification, correlation and some sixty rules read the same few things from the same hops; parsing them
again in every rule made `check` many times slower than reading the trace. The cache lives on the object itself
(Hop.derived; so it dies with it) and remembers the inputs it was derived from, so a hop whose Location or body is replaced
gets fresh values. Cached values are shared: treat them as read-only.
"""

from __future__ import annotations

from typing import Callable, TypeVar

from oauthtrace.model import Hop

T = TypeVar("T")
_SLOT = "_oauthtrace_derived"


def derived(obj, key: str, build: Callable[[], T], *inputs) -> T:
    """build() once per object and key, again only when one of `inputs` is no longer the same object."""
    # _store inlined: this runs a million times on a large trace
    if isinstance(obj, Hop):
        store = obj.derived
        if store is None:
            store = obj.derived = {}
    else:
        store = obj.__dict__.get(_SLOT)
        if store is None:
            store = obj.__dict__[_SLOT] = {}
    found = store.get(key)
    # tuple equality tries identity first, element by element: cheap when nothing changed
    if found is not None and found[0] == inputs:
        return found[1]
    value = build()
    store[key] = (inputs, value)
    return value


def _store(obj) -> dict:
    """The object's cache: Hop declares a field for it; other objects (exchanges) get an attribute."""
    if isinstance(obj, Hop):
        if obj.derived is None:
            obj.derived = {}
        return obj.derived
    store = obj.__dict__.get(_SLOT)
    if store is None:
        store = obj.__dict__[_SLOT] = {}
    return store
