"""Record OAuth traffic with plain mitmproxy tools:

    mitmdump -s addons/oauthtrace.py --set oauthtrace_db=oauthtrace.db
    mitmweb  -s addons/oauthtrace.py --set oauthtrace_db=oauthtrace.db --set oauthtrace_name=my-login
"""

from oauthtrace.capture.recorder import Recorder

addons = [Recorder()]
