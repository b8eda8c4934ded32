"""The rule registry: each rule is a small function over one exchange, registered with its metadata."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import compress
from operator import attrgetter
from typing import Callable, Iterable

from oauthtrace.model import Exchange, Hit, Hop, Rule

RULES: dict[str, Rule] = {}
# rule id -> the exchange parts (EXCHANGE_PARTS) or traits (TRAITS) at least one of which the rule needs to report
# anything; a rule without an entry may report on any exchange. The engine skips a rule on an exchange holding
# none of them.
PRECONDITIONS: dict[str, frozenset[str]] = {}
# Exchange fields that may be empty: a hop (authorize …) or a list of hops (tokens …).
EXCHANGE_PARTS = ("authorize", "authz_response", "callback", "tokens", "refreshes", "registrations", "metadata",
                  "resources", "pushed")

CheckFn = Callable[[Exchange, "Context"], Iterable[Hit]]
TraitFn = Callable[[Exchange, "Context"], bool]
# trait name -> whether an exchange has it: what a few rules need of its content (an error response, an id_token,
# a code_challenge sent …), told by the same readers those rules use, once per exchange.
TRAITS: dict[str, TraitFn] = {}


def trait(name: str) -> Callable[[TraitFn], TraitFn]:
    """Register `fn(exchange, context) -> bool` as trait `name`, for rules to name in `when` (register it before
    the rules that do)."""

    def register(fn: TraitFn) -> TraitFn:
        if name in TRAITS or name in EXCHANGE_PARTS:
            raise ValueError(f"trait {name} registered twice")
        TRAITS[name] = fn
        return fn

    return register


def rule(
    id: str,
    *,
    family: str,
    severity: str,
    blame: str,
    needs: str,
    spec: str,
    quote: str,
    fix: str,
    title: str = "",
    when: tuple[str, ...] = (),
    reads: tuple[str, ...] = (),
    cause: str = "",
) -> Callable[[CheckFn], CheckFn]:
    """Register `fn(exchange, context) -> Iterable[Hit]` as rule `id`.

    `needs` uses RULES.md's letters: F front channel, B back channel, M metadata; "F+B" needs both,
    "F/B" either. `severity` is the default; a Hit may carry another for rules with two severities.
    `when`: exchange parts (EXCHANGE_PARTS) or traits (TRAITS) of which the rule needs at least one to report
    anything, e.g. ("tokens", "refreshes"); a precondition the rule's own code implies, so skipping it changes
    nothing. A rule that reports what is absent must name what it really reads (state-missing needs "authorize",
    not "callback").
    `reads`: the captured values the rule decides on (oauthtrace.analysis.sanitized.VALUES, e.g. ("state",)); on
    an exchange where a sanitized capture cannot hold one of them the engine reports the rule as not evaluated.
    `cause`: the failure in one plain sentence, for a report's summary (optional; the title stands in).
    """
    unknown = set(when) - set(EXCHANGE_PARTS) - TRAITS.keys()
    if unknown:
        raise ValueError(f"rule {id}: unknown exchange parts {sorted(unknown)}")

    def register(fn: CheckFn) -> CheckFn:
        if id in RULES:
            raise ValueError(f"rule {id} registered twice")
        RULES[id] = Rule(
            id=id, family=family, severity=severity, blame=blame, needs=needs, spec=spec, quote=quote,
            fix=fix, title=title or _first_line(fn.__doc__) or id, check=fn, reads=tuple(reads),
            cause=cause,
        )
        if when:
            PRECONDITIONS[id] = frozenset(when)
        return fn

    return register


def exchange_parts(exchange: Exchange) -> frozenset[str]:
    """The parts (EXCHANGE_PARTS) the exchange holds: a hop that is there, a list that is not empty."""
    return frozenset(compress(EXCHANGE_PARTS, _read_parts(exchange)))


_read_parts = attrgetter(*EXCHANGE_PARTS)  # all of them in one call: the engine asks for every exchange


def exchange_traits(exchange: Exchange, ctx: Context, names: Iterable[str]) -> frozenset[str]:
    """Which of the traits `names` the exchange has. A trait that fails to be told counts as present: the rules
    needing it then run, and report their own failure."""
    found = []
    for name in names:
        try:
            present = TRAITS[name](exchange, ctx)
        except Exception:  # noqa: BLE001 — the rule's own run says what went wrong
            present = True
        if present:
            found.append(name)
    return frozenset(found)


def applies(rule_id: str, parts: frozenset[str]) -> bool:
    """Whether rule `rule_id` can report anything on an exchange holding `parts` (its parts and traits)."""
    needed = PRECONDITIONS.get(rule_id)
    return needed is None or not needed.isdisjoint(parts)


def _first_line(text: str | None) -> str:
    return text.strip().splitlines()[0] if text and text.strip() else ""


@dataclass
class Context:
    """What a rule may know beyond its own exchange: the whole trace, what was recorded, the profile."""

    trace_id: int
    hops: list[Hop]
    exchanges: list[Exchange]
    roles: dict[int, str]  # hop seq -> role, for every hop of the trace
    sides: set[str]  # the sides recorded in this trace: "F", "B", "M"
    profile: str = "oauth2"
    metadata: dict[str, dict] = field(default_factory=dict)  # issuer -> AS metadata document
    baseline: object | None = None  # a golden recording to compare with (oauthtrace.analysis.drift.Side), if any
    stall_seconds: float = 30.0  # how long a client may take before flow-health rules say it stopped
    facts: dict | None = None  # during an engine run: exchange index -> what rules read from it (rules._shared.facts)
    memos: dict = field(default_factory=dict, repr=False, compare=False)  # memo(): key -> value built for this trace

    def earlier(self, exchange: Exchange) -> list[Exchange]:
        return [ex for ex in self.exchanges if ex.index < exchange.index]

    def others(self, exchange: Exchange) -> list[Exchange]:
        return [ex for ex in self.exchanges if ex.index != exchange.index]

    def hops_with_role(self, *roles: str) -> list[Hop]:
        """The trace's hops with one of `roles`, in the order of ctx.hops."""
        by_role = memo(self, "registry.hops-by-role", self._hops_by_role)
        if len(roles) == 1:
            return [hop for _, hop in by_role.get(roles[0], ())]
        return [hop for _, hop in sorted(entry for role in roles for entry in by_role.get(role, ()))]

    def _hops_by_role(self) -> dict[str, list[tuple[int, Hop]]]:
        """role -> (position in ctx.hops, hop): one pass over the trace for every rule that asks for a role."""
        by_role: dict[str, list[tuple[int, Hop]]] = {}
        for position, hop in enumerate(self.hops):
            by_role.setdefault(self.roles.get(hop.seq), []).append((position, hop))
        return by_role

    def as_metadata(self) -> dict | None:
        """The first authorization server metadata document seen in the trace, if any."""
        return next(iter(self.metadata.values()), None)


def memo(ctx: Context, key: str, build: Callable[[], object]):
    """A value built once per analysed trace (an index over ctx.hops or ctx.exchanges).

    Cross-exchange rules look things up in such an index instead of scanning every other exchange, so a
    trace with 10k exchanges stays linear. Kept on the Context itself, so it lives exactly as long as the run.
    """
    memos = ctx.memos  # a declared field: asked 180k times on a 10k-exchange trace, no dict made per call
    if key in memos:
        return memos[key]
    value = memos[key] = build()
    return value
