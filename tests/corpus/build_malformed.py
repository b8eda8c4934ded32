"""Write the malformed-input corpus to tests/corpus/malformed/ (run once; the files are committed).

    python -m tests.corpus.build_malformed

Every file is one that `oauthtrace import` must refuse with a one-line error: a cut of a real sample or an export at
one of several points. A cut that happens to still parse (a flow file cut between two flows) is not malformed and is
left out. The hand-made malformed files are tests/test_import_malformed.py's CORPUS, tested there (with the error
each must name), not copied here.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from oauthtrace.errors import UserError
from oauthtrace.interchange.importer import read_file
from tests.interchange_support import sample

OUT = Path(__file__).resolve().parent / "malformed"
SAMPLES = ["har_files/chrome.har", "har_files/firefox.har", "har_files/safari.har", "har_files/charles.har",
           "har_files/insomnia.har", "har_files/postdata.har", "flows/successful_log.har", "flows/websocket.har",
           "dumpfile-018.mitm", "dumpfile-019.mitm", "dumpfile-7-websocket.mitm", "flows/successful_log.mitm",
           "flows/event_stream.mitm"]
CUTS = (0.13, 0.3, 0.5, 0.87)


def refused(path: Path) -> bool:
    try:
        read_file(str(path))
    except UserError:
        return True
    return False


def main() -> None:
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    for relative in SAMPLES:
        data = sample(relative).read_bytes()
        stem, suffix = Path(relative).stem, Path(relative).suffix
        for cut in CUTS:
            path = OUT / f"cut-{stem}-{int(cut * 100)}{suffix}"
            path.write_bytes(data[: int(len(data) * cut)])
            if not refused(path):
                path.unlink()
    export = {"oauthtrace": 1, "trace": {"name": "x"}, "hops": [{"method": "GET", "url": "https://a/", "seq": 1}]}
    for cut in CUTS:
        (OUT / f"cut-export-{int(cut * 100)}.json").write_bytes(json.dumps(export).encode()[: int(60 * cut) + 5])
    kept = sorted(OUT.iterdir())
    assert all(refused(path) for path in kept)
    print(f"{len(kept)} malformed files in {OUT}")


if __name__ == "__main__":
    main()
