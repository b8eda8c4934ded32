"""The layers of DESIGN.md hold and no import cycle is left: `lint-imports` keeps every contract in pyproject.toml
([tool.importlinter]).

It reads imports anywhere in a module, function bodies included, so an upward import hidden inside a function
breaks the contract as surely as one at the top.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# import-linter's own entry point, without its cache (it would write into the checkout) and without its banner
LINT = ("import sys; from importlinter.cli import lint_imports; "
        "sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True, no_logo=True))")


def test_imports_keep_the_layers_contract():
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    result = subprocess.run([sys.executable, "-c", LINT], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=300)
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    assert "Layers of DESIGN.md KEPT" in report and "No import cycles KEPT" in report and "0 broken" in report, report
