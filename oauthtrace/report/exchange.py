"""One exchange as every view shows it: its stages, the verdicts on its parameters, its findings."""

from __future__ import annotations

from dataclasses import dataclass

from oauthtrace.model import Exchange, Finding
from oauthtrace.report.stages import Stage, exchange_stages, token_auth
from oauthtrace.report.verdicts import Verdict, verdicts


@dataclass
class ExchangeView:
    exchange: Exchange
    stages: list[Stage]
    verdicts: list[Verdict]
    findings: list[Finding]  # this exchange's
    client_auth: str | None  # how the first token request authenticated the client

    @property
    def index(self) -> int:
        return self.exchange.index

    def stage(self, kind: str) -> Stage | None:
        return next((stage for stage in self.stages if stage.kind == kind), None)


def exchange_view(exchange: Exchange, findings: list[Finding]) -> ExchangeView:
    """`findings`: the trace's (those of other exchanges are left out here)."""
    mine = [f for f in findings if f.exchange == exchange.index]
    stages = exchange_stages(exchange)
    return ExchangeView(exchange, stages, verdicts(exchange, stages, mine), mine, token_auth(exchange))
