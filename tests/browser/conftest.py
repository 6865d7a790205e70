"""Fixtures of the browser tests: the processes (a simulated camera over PTP/IP, `sonyctl serve`
in front of it and of a second simulated body, a second `serve` with a token) and Debian's
chromium driven by Playwright.

Every process is started here and ended here, also when a test fails. Nothing is downloaded:
the browser is the system's /usr/bin/chromium (CHROMIUM overrides it)."""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
SONYCTL = Path(os.environ.get("SONYCTL", ROOT / "target" / "debug" / "sonyctl"))
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SHOTS = Path(os.environ.get("BROWSER_SHOTS", ROOT / "target" / "browser-shots"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
# How long a process may take to print its address, in seconds.
START_TIMEOUT = 60
# Playwright's time-out for one expectation, in milliseconds.
EXPECT_MS = 15_000


class Process:
    """A child process whose standard output and error go to files in `work`."""

    def __init__(self, name, args, work, stdin=None):
        self.name = name
        self.out = work / f"{name}.out"
        self.err = work / f"{name}.err"
        with open(self.out, "wb") as out, open(self.err, "wb") as err:
            self.proc = subprocess.Popen(
                [str(a) for a in args], stdin=stdin, stdout=out, stderr=err
            )

    def first_line(self):
        """The first complete line the process printed on standard output."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            text = self.out.read_text(errors="replace")
            if "\n" in text:
                return text.split("\n", 1)[0].strip()
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} ended ({self.proc.returncode}): {self.stderr()}")
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} printed no line in {START_TIMEOUT} s: {self.stderr()}")

    def first_line_or_stop(self):
        """`first_line()`; when it fails, the process is stopped before the error goes on (a
        constructor that raises leaves nobody to stop it)."""
        try:
            return self.first_line()
        except BaseException:
            self.stop()
            raise

    def stderr(self):
        return self.err.read_text(errors="replace")[-4000:]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self.proc.stdin:
            try:
                self.proc.stdin.close()
            except OSError:
                pass


class Simulator(Process):
    """`sonyctl simulate` with the owner's actions on a pipe."""

    def __init__(self, work):
        super().__init__(
            "simulate",
            [SONYCTL, "simulate", "--model", "ilce-7sm3", "--ptpip", "127.0.0.1:0"],
            work,
            stdin=subprocess.PIPE,
        )
        # "simulated ILCE-7SM3 on ptpip 127.0.0.1:PORT"
        line = self.first_line_or_stop()
        self.addr = line.rsplit(" ", 1)[-1]
        self.done = 0

    def act(self, action):
        """Does an owner action (`set iso 3200`, `unplug`) and waits until the camera reports
        it done on its standard error (`stdin line N: ACTION: done at …`)."""
        self.proc.stdin.write((action + "\n").encode())
        self.proc.stdin.flush()
        self.done += 1
        marker = f"stdin line {self.done}: {action}: "
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            for line in self.err.read_text(errors="replace").splitlines():
                if marker in line:
                    assert ": done at " in line, line
                    return
            time.sleep(0.05)
        raise AssertionError(f"the simulated camera did not do {action!r}: {self.stderr()}")


class Server(Process):
    """`sonyctl serve`; `url` is the URL it printed (with `?token=` when it has one),
    `origin` the scheme, host and port."""

    def __init__(self, name, args, work):
        out = work / f"{name}-images"
        super().__init__(name, [SONYCTL, "serve", *args, "-o", out], work)
        self.url = self.first_line_or_stop()
        self.origin = self.url.split("/?", 1)[0].rstrip("/")
        self.token = None

    def api(self, method, path, body=None):
        """Calls the API (with the token, if any); answers the decoded JSON."""
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if data else {}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(
            f"{self.origin}/api/v1/{path}", data=data, headers=headers, method=method
        )
        with urllib.request.urlopen(req, timeout=60) as r:
            text = r.read()
        return json.loads(text) if text else None

    def camera(self, model):
        """The id of the served camera of `model` (ILCE-7SM3, ILCE-6000)."""
        for c in self.api("GET", "cameras")["cameras"]:
            if c["model"] == model:
                return c["id"]
        raise AssertionError(f"no {model} served")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def work():
    d = Path(tempfile.mkdtemp(prefix="sonyctl-browser-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def sim(work):
    s = Simulator(work)
    yield s
    s.stop()


@pytest.fixture(scope="session")
def server(sim, work):
    """`serve` in front of the simulated ILCE-7SM3 over PTP/IP and a simulated ILCE-6000."""
    s = Server(
        "serve",
        ["--camera", f"ip:{sim.addr}", "--camera", "sim:ilce-6000", "--listen", "127.0.0.1:0"],
        work,
    )
    yield s
    s.stop()


@pytest.fixture(scope="session")
def ids(server):
    """The served cameras' ids: `ip` (the ILCE-7SM3 over PTP/IP) and `sim` (the ILCE-6000)."""
    return {"ip": server.camera("ILCE-7SM3"), "sim": server.camera("ILCE-6000")}


@pytest.fixture(scope="session")
def token_server(work):
    """A `serve` with `--token-file`: every request needs the token."""
    token = "browser-test-token-" + os.urandom(8).hex()
    path = work / "token"
    path.write_text(token + "\n")
    s = Server(
        "serve-token",
        [
            "--camera", "sim:ilce-6000", "--camera", "sim:ilce-7sm3",
            "--listen", "127.0.0.1:0", "--token-file", path,
        ],
        work,
    )
    s.token = token
    yield s
    s.stop()


@pytest.fixture(scope="session")
def playwright():
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright):
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"no chromium at {CHROMIUM} (Debian's package chromium)")
    b = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield b
    b.close()


class Watch:
    """What a test's pages did: console errors, uncaught exceptions, every request, and their
    long-lived requests (`liveview.mjpg` and `events`) still open. Every page of a context made
    by `context` or `new_context` is watched."""

    def __init__(self):
        self.errors = []
        self.requests = []
        self.open_streams = []
        self.closed_streams = []

    def watch_context(self, ctx):
        ctx.on("page", self.attach)
        return ctx

    def outside(self):
        """Requests to anything but a server of this test run (loopback), `data:` or `blob:`."""
        return [
            u for u in self.requests
            if not (u.startswith(("data:", "blob:http://127.0.0.1:"))
                    or urlparse(u).hostname == "127.0.0.1")
        ]

    def attach(self, page):
        page.on("console", lambda m: m.type == "error" and self.errors.append(f"console: {m.text}"))
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on("request", self._request)
        page.on("requestfinished", self._ended)
        page.on("requestfailed", self._ended)

    def _request(self, request):
        self.requests.append(request.url)
        path = request.url.split("?", 1)[0]
        if path.endswith(("/liveview.mjpg", "/events")):
            self.open_streams.append(request)

    def _ended(self, request):
        if request in self.open_streams:
            self.open_streams.remove(request)
            self.closed_streams.append(request)

    def streams(self, camera=None, kind="/liveview.mjpg"):
        """The live-view streams (or with `kind="/events"`, event streams; `kind=""`: both)
        open now, of `camera` if given."""
        return [
            r.url for r in self.open_streams
            if kind in r.url and (camera is None or f"/{camera}/" in r.url)
        ]


@pytest.fixture
def watch():
    return Watch()


@pytest.fixture
def new_context(browser, watch):
    """Makes browser contexts whose pages `watch` sees; closes them after the test."""
    made = []

    def make(**options):
        ctx = watch.watch_context(browser.new_context(**options))
        ctx.set_default_timeout(EXPECT_MS)
        made.append(ctx)
        return ctx

    yield make
    for ctx in made:
        ctx.close()


@pytest.fixture
def context(new_context):
    return new_context(viewport={"width": 1400, "height": 900})


@pytest.fixture(autouse=True)
def _pages_stay_clean(request, watch):
    """Every test: no console error, no uncaught exception and no request outside the test's
    servers on any watched page. A test that provokes errors on purpose (a server stopped, a
    camera unplugged, a refused token) names the console texts it expects with
    `@pytest.mark.allow_console("substring", …)`; nothing else is let through."""
    yield
    marker = request.node.get_closest_marker("allow_console")
    allowed = marker.args if marker else ()
    errors = [e for e in watch.errors
              if not (e.startswith("console: ") and any(a in e for a in allowed))]
    assert errors == [], f"console errors or exceptions: {errors}"
    assert watch.outside() == [], f"requests outside the test's servers: {watch.outside()}"


@pytest.fixture(scope="session")
def shots():
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS


def pytest_configure(config):
    from playwright.sync_api import expect

    expect.set_options(timeout=EXPECT_MS)
    config.addinivalue_line(
        "markers", "allow_console(*texts): console errors containing one of texts are expected"
    )


# What the tests want said at the end of the run (how a page was hidden).
NOTES = []


def pytest_terminal_summary(terminalreporter):
    for note in NOTES:
        terminalreporter.write_line(f"browser-test: {note}")
    skipped = terminalreporter.stats.get("skipped", []) + terminalreporter.stats.get("xfailed", [])
    if skipped:
        terminalreporter.write_line(
            f"browser-test: FAILED: {len(skipped)} test(s) skipped; nothing here may be skipped"
        )


def pytest_sessionfinish(session, exitstatus):
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter and (reporter.stats.get("skipped") or reporter.stats.get("xfailed")):
        session.exitstatus = 1
