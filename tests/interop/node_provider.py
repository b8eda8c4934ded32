"""Start tests/interop/node/provider.mjs (node's oidc-provider from the npm registry) and read where it listens."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from pathlib import Path

NODE_DIR = Path(__file__).parent / "node"
INSTALL_HINT = "npm ci --prefix tests/interop/node"


def node_binary() -> str | None:
    return shutil.which("node")


def installed() -> bool:
    return (NODE_DIR / "node_modules" / "oidc-provider" / "package.json").exists()


class NodeProvider:
    def __init__(self, *, client_id: str, client_secret: str, redirect_uri: str):
        self.env = {**os.environ, "CLIENT_ID": client_id, "CLIENT_SECRET": client_secret,
                    "REDIRECT_URI": redirect_uri}
        self.issuer = ""
        self.stderr = ""
        self._process: subprocess.Popen | None = None

    def start(self, timeout: float = 15) -> "NodeProvider":
        self._process = subprocess.Popen(
            [node_binary() or "node", str(NODE_DIR / "provider.mjs")], cwd=NODE_DIR, env=self.env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        first_line: list[str] = []
        reader = threading.Thread(target=lambda: first_line.append(self._process.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        if not first_line or not first_line[0].strip():
            self.stop()
            raise AssertionError(f"oidc-provider did not start:\n{self.stderr}")
        self.issuer = json.loads(first_line[0])["issuer"]
        return self

    def stop(self) -> None:
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.terminate()
        try:
            _, self.stderr = self._process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            _, self.stderr = self._process.communicate()
        self._process = None
