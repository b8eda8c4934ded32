"""Every file of the malformed-input corpus (tests/corpus/malformed/: cuts of the real samples and exports) is
refused the same way: one line naming the file, exit 2, and the database unchanged to the byte. The corpus is rebuilt
by tests/corpus/build_malformed.py; the hand-made malformed files are tests/test_import_malformed.py's CORPUS."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.interchange_support import file_hash, run_cli

CORPUS = Path(__file__).resolve().parent / "corpus" / "malformed"
FILES = sorted(path.name for path in CORPUS.iterdir())


def test_the_corpus_is_large_enough():
    assert len(FILES) >= 50
    assert {Path(name).suffix for name in FILES} >= {".har", ".mitm", ".json"}


@pytest.mark.parametrize("name", FILES)
def test_corpus_file_is_refused_in_one_line_and_the_database_is_unchanged(capsys, populated_db, name):
    before = file_hash(populated_db)
    code, out, err = run_cli(capsys, "import", CORPUS / name, "--db", populated_db)
    assert code == 2
    assert err.startswith(f"Error: {name}: ") and err.count("\n") == 1 and "Traceback" not in err
    assert file_hash(populated_db) == before
