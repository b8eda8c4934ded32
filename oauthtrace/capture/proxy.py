"""Run mitmproxy in-process: one explicit proxy for the browser plus reverse proxies, into one trace."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from oauthtrace.capture.ca_bundle import remove_bundle, write_bundle
from oauthtrace.capture.proxy_settings import ProxySettings, command_line_settings
from oauthtrace.capture.recorder import Recorder
from oauthtrace.capture.tls_hints import TlsHints
from oauthtrace.capture.userlog import LOGGER, user_lines_handler
from oauthtrace.capture.writer import WriterStats
from oauthtrace.errors import UserError

DEFAULT_CONFDIR = "~/.mitmproxy"


@dataclass
class ReverseTarget:
    upstream: str  # https://auth.example.com
    port: int

    @property
    def mode(self) -> str:
        return f"reverse:{self.upstream}@{self.port}"


@dataclass
class ProxyConfig:
    db_path: str
    listen_host: str = "127.0.0.1"
    port: int = 8080
    reverse: list[ReverseTarget] = field(default_factory=list)
    name: str | None = None
    confdir: str = DEFAULT_CONFDIR
    only_hosts: list[str] = field(default_factory=list)
    ignore_hosts: list[str] = field(default_factory=list)
    mitm_options: dict = field(default_factory=dict)  # more mitmproxy options, e.g. ssl_verify_upstream_trusted_ca
    # --upstream-ca, --ssl-insecure and --set of the command that runs this proxy
    settings: ProxySettings = field(default_factory=command_line_settings)


@dataclass
class Listening:
    """Where the proxies ended up listening (ports may have been chosen by the OS)."""

    proxy: tuple[str, int]
    reverse: list[tuple[str, tuple[str, int]]]  # (upstream, address)
    ca_cert: Path

    @property
    def proxy_url(self) -> str:
        return f"http://{_hostport(self.proxy)}"

    def reverse_url(self, index: int = 0) -> str:
        return f"http://{_hostport(self.reverse[index][1])}"


def parse_reverse(spec: str, default_port: int) -> ReverseTarget:
    """`https://auth.example.com[@8081]` -> ReverseTarget; a one-line UserError when it is not a URL."""
    url, _, port_text = spec.rpartition("@") if "@" in spec.split("://", 1)[-1] else (spec, "", "")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserError(f"bad --reverse {spec!r}: expected URL[@PORT] such as https://auth.example.com@8081")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise UserError(f"bad --reverse {spec!r}: give the provider's origin only, without a path")
    if port_text:
        if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
            raise UserError(f"bad --reverse {spec!r}: port {port_text!r} is not a number from 0 to 65535")
        port = int(port_text)
    else:
        port = default_port
    try:
        port_part = f":{parts.port}" if parts.port else ""
    except ValueError:
        raise UserError(f"bad --reverse {spec!r}: invalid port in URL") from None
    return ReverseTarget(upstream=f"{parts.scheme}://{parts.hostname}{port_part}", port=port)


def ca_cert_path(confdir: str) -> Path:
    return Path(os.path.expanduser(confdir)) / "mitmproxy-ca-cert.pem"


class ProxyRunner:
    """Owns the mitmproxy master. `run()` blocks in an event loop; `start_in_thread()` is for demo and tests."""

    def __init__(self, config: ProxyConfig):
        self.config = config
        self.recorder = Recorder(config.db_path, config.name, close_on_done=False)
        self.listening: Listening | None = None
        self.stats: WriterStats | None = None
        self._master = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._startup_error: str | None = None
        self._upstream_bundle: Path | None = None

    # -- blocking use (the `record` command) ----------------------------------------------------

    def run(self, on_ready=None) -> WriterStats:
        """Record until SIGINT/SIGTERM or stop(); returns what the writer stored.

        The recorder's problems while running (disk full, database deleted) are printed as `Error: …` lines:
        mitmproxy's own log handler would swallow them, as its terminal log is off.
        """
        handler = user_lines_handler()
        logging.getLogger(LOGGER).addHandler(handler)
        try:
            return self._serve(on_ready, install_signals=True)
        finally:
            logging.getLogger(LOGGER).removeHandler(handler)

    # -- background use ------------------------------------------------------------------------

    def start_in_thread(self, timeout: float = 30) -> Listening:
        self._thread = threading.Thread(target=self._serve_in_thread, daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("the proxy did not start in time")
        if self._startup_error:
            raise UserError(self._startup_error)
        return self.listening

    def request_stop(self) -> None:
        """Ask the proxy to stop, from any thread (a `record -- COMMAND` child that exited)."""
        if self._loop and self._master:
            self._loop.call_soon_threadsafe(self._master.shutdown)

    def stop(self, timeout: float = 30) -> WriterStats | None:
        self.request_stop()
        if getattr(self, "_thread", None):
            self._thread.join(timeout)
        return self.stats

    # -- internals -----------------------------------------------------------------------------

    def _serve_in_thread(self) -> None:
        try:
            self._serve(None, install_signals=False)
        except UserError:  # start_in_thread raises it in the caller's thread: no traceback from this one
            pass

    def _serve(self, on_ready, install_signals: bool) -> WriterStats:
        try:
            asyncio.run(self._main(on_ready, install_signals))
        finally:
            # Only once the event loop has ended can no response hook hand over a flow any more: connections still
            # finish while mitmproxy runs its done hooks and while asyncio winds its tasks down.
            self.stats = self.recorder.close()
            remove_bundle(self._upstream_bundle)
        if self._startup_error and install_signals:
            raise UserError(self._startup_error)
        return self.stats

    async def _main(self, on_ready, install_signals: bool) -> None:
        from mitmproxy import options
        from mitmproxy.tools.dump import DumpMaster

        self._loop = asyncio.get_running_loop()
        config = self.config
        modes = self._modes()
        opts = options.Options(listen_host=config.listen_host, confdir=config.confdir)
        master = DumpMaster(opts, with_termlog=False, with_dumper=False)
        _drop_errorcheck(master)
        master.addons.add(self.recorder, TlsHints(ca_cert_path(config.confdir)), _ReadyProbe(self))
        try:
            self._apply_sets(master)
            master.options.update(
                mode=modes,
                oauthtrace_db=config.db_path,
                oauthtrace_name=config.name or "",
                oauthtrace_only_hosts=config.only_hosts,
                oauthtrace_ignore_hosts=config.ignore_hosts,
                # Keep-alive upstream connections would let one reverse listener's flow show another's host.
                connection_strategy="lazy",
                **self._upstream_trust(),
                **config.mitm_options,
            )
        except UserError as exc:
            self._fail(str(exc))
            self.recorder.close()
            raise
        except Exception as exc:
            self._fail(str(exc))
            self.recorder.close()
            raise UserError(str(exc)) from None
        self._master = master
        if install_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._loop.add_signal_handler(sig, master.shutdown)
        ready_task = asyncio.create_task(self._announce(on_ready))
        try:
            await master.run()
        finally:
            ready_task.cancel()

    async def _announce(self, on_ready) -> None:
        await asyncio.to_thread(self._ready.wait)
        if on_ready and not self._startup_error:
            on_ready(self.listening)

    def _apply_sets(self, master) -> None:
        """--set NAME=VALUE as mitmdump applies it (strings parsed by each option's type, repeats into lists)."""
        from mitmproxy.exceptions import OptionsError

        by_name: dict[str, list[str]] = {}
        for spec in self.config.settings.mitm_sets:
            by_name.setdefault(spec.split("=", 1)[0].strip(), []).append(spec)
        for specs in by_name.values():
            try:
                master.options.set(*specs)
            except OptionsError as exc:
                raise UserError(f"bad --set {specs[-1]!r}: {exc}") from None

    def _upstream_trust(self) -> dict:
        settings = self.config.settings
        options: dict = {}
        if settings.ssl_insecure:
            options["ssl_insecure"] = True
        if settings.upstream_ca_pem:
            self._upstream_bundle = write_bundle(settings.upstream_ca_pem, "oauthtrace-upstream-ca-")
            options["ssl_verify_upstream_trusted_ca"] = str(self._upstream_bundle)
        return options

    def _modes(self) -> list[str]:
        regular_port = self.config.port or _free_port(self.config.listen_host)
        modes = [f"regular@{regular_port}"]
        for target in self.config.reverse:
            port = target.port or _free_port(self.config.listen_host)
            modes.append(f"reverse:{target.upstream}@{port}")
        return modes

    def _on_running(self, master) -> None:
        """Called once mitmproxy has tried to bind every listener."""
        servers = list(master.addons.get("proxyserver").servers)
        failed = [s for s in servers if not s.is_running]
        if failed:
            server = failed[0]
            self._fail(f"cannot listen for {server.mode.description.lower()} on "
                       f"{self.config.listen_host}:{server.mode.listen_port(self.config.port)}: "
                       f"{_reason(server.last_exception)}")
            master.shutdown()
            return
        proxy_addr, reverse = None, []
        for server in servers:
            addr = server.listen_addrs[0][:2]
            if server.mode.type_name == "regular":
                proxy_addr = addr
            else:
                reverse.append((server.mode.data, addr))
        self.listening = Listening(proxy=proxy_addr, reverse=reverse, ca_cert=ca_cert_path(self.config.confdir))
        self._ready.set()

    def _fail(self, message: str) -> None:
        self._startup_error = message
        self._ready.set()


class _ReadyProbe:
    """Tells the runner when the listeners are up (mitmproxy's `running` hook comes after they bind)."""

    def __init__(self, runner: ProxyRunner):
        self.runner = runner

    def running(self) -> None:
        from mitmproxy import ctx

        self.runner._on_running(ctx.master)


def _drop_errorcheck(master) -> None:
    # mitmproxy's ErrorCheck calls sys.exit(1) on a busy port; we report it ourselves as one line with exit 2.
    check = master.addons.get("errorcheck")
    if check is not None:
        master.addons.remove(check)
    logging.getLogger("mitmproxy").setLevel(logging.CRITICAL)


def _reason(exc: BaseException | None) -> str:
    if exc is None:
        return "unknown error"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc)


def _free_port(host: str) -> int:
    # mitmproxy refuses two modes on "port 0" of one host, so pick distinct free ports up front.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _hostport(addr: tuple[str, int]) -> str:
    host, port = addr[0], addr[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
