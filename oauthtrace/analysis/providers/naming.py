"""A rule's hit naming the provider: its name and fix in the message, and in the evidence for every output
format (evidence["provider"], ["provider_docs"], ["provider_fix"])."""

from __future__ import annotations

from dataclasses import replace

from oauthtrace.analysis.providers.model import Provider
from oauthtrace.model import Hit


def named(hit: Hit, provider: Provider, deviation: str | None = None, *, severity: str | None = None) -> Hit:
    """`hit` saying it concerns `provider` and, for one of its documented deviations, what the provider
    documents and the fix in its terms. `severity` replaces the hit's own when given."""
    found = provider.deviation(deviation) if deviation else None
    evidence = dict(hit.evidence or {})
    evidence["provider"] = provider.name
    evidence["provider_docs"] = found.docs if found else provider.docs
    message = hit.message
    if found is not None:
        message += f" — {provider.name}: {found.what.rstrip('.')}"
        if found.fix:
            evidence["provider_fix"] = found.fix
            message += f"; fix: {found.fix}"
    return replace(hit, message=message, evidence=evidence, severity=severity or hit.severity)
