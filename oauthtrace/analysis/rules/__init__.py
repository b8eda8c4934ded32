"""Every rule family; importing this package registers all rules."""

from oauthtrace.analysis.rules import state  # noqa: F401  A
from oauthtrace.analysis.rules import redirect  # noqa: F401  B
from oauthtrace.analysis.rules import code  # noqa: F401  C
from oauthtrace.analysis.rules import pkce  # noqa: F401  D
from oauthtrace.analysis.rules import leakage  # noqa: F401  E
from oauthtrace.analysis.rules import errors  # noqa: F401  F
from oauthtrace.analysis.rules import token_response  # noqa: F401  G
from oauthtrace.analysis.rules import client_auth  # noqa: F401  H
from oauthtrace.analysis.rules import issuer  # noqa: F401  I
from oauthtrace.analysis.rules import oidc  # noqa: F401  J
from oauthtrace.analysis.rules import transport  # noqa: F401  K
from oauthtrace.analysis.rules import scope  # noqa: F401  L
from oauthtrace.analysis.rules import scope_challenge  # noqa: F401  L
from oauthtrace.analysis.rules import discovery  # noqa: F401  M
from oauthtrace.analysis.rules import registration  # noqa: F401  M
from oauthtrace.analysis.rules import client_binding  # noqa: F401  M
from oauthtrace.analysis.rules import resource  # noqa: F401  M
from oauthtrace.analysis.rules import bearer  # noqa: F401  M
from oauthtrace.analysis.rules import par  # noqa: F401  N
from oauthtrace.analysis.rules import flow_health  # noqa: F401  O
