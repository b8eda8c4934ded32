"""Record OAuth traffic with plain mitmproxy tools:

    mitmdump -s addons/oauthtrace.py --set oauthtrace_db=oauthtrace.db
    mitmweb  -s addons/oauthtrace.py --set oauthtrace_db=oauthtrace.db --set oauthtrace_name=my-login
"""

import os
import sys

# mitmproxy puts this script's folder first on sys.path, where this file's name would hide the package.
_here = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or os.curdir) != _here]

from oauthtrace.capture.recorder import Recorder  # noqa: E402

addons = [Recorder()]
