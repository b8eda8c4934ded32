"""Every rule family; importing this package registers all rules."""

from oauthtrace.analysis.rules import pkce  # noqa: F401  D
from oauthtrace.analysis.rules import leakage  # noqa: F401  E
