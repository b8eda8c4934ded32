"""What a view quotes of a finding's rule: its cause sentence, title and the specification's own words."""

from __future__ import annotations

from oauthtrace.analysis.engine import load_rules
from oauthtrace.model import Finding


def cause(finding: Finding) -> str:
    """The rule's cause sentence, or "" (a view then says it with the rule's title)."""
    rule = load_rules().get(finding.rule)
    return rule.cause if rule is not None else ""


def rule_title(rule_id: str) -> str:
    rule = load_rules().get(rule_id)
    return rule.title if rule is not None else ""


def rule_quote(rule_id: str) -> str:
    rule = load_rules().get(rule_id)
    return rule.quote if rule is not None else ""
