"""docs/providers.md is the providers table rendered: it cannot drift from what the rules use."""

from __future__ import annotations

from pathlib import Path

from oauthtrace.analysis.docs import render_providers
from oauthtrace.analysis.providers import PROVIDERS

PAGE = Path(__file__).resolve().parent.parent / "docs" / "providers.md"


def test_docs_providers_md_is_up_to_date():
    assert PAGE.read_text() == render_providers(), (
        "docs/providers.md is out of date: run `python -m oauthtrace.analysis.docs providers > docs/providers.md`")


def test_every_provider_names_its_deviations_with_a_link_to_its_own_docs():
    page = PAGE.read_text()
    for provider in PROVIDERS:
        assert provider.deviations, provider.key
        assert f"| [{provider.name}]({provider.docs}) |" in page
        for deviation in provider.deviations:
            assert deviation.docs.startswith("https://") and f"]({deviation.docs})" in page
            assert deviation.what and deviation.effect and deviation.says
