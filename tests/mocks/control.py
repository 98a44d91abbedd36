"""Start, stop and drive the mock providers (server.py) from tests.

    m = MockProviders.start(run_dir)     # free ports, certificates, configured, ready
    m.url("/3/device/")                  # https://127.0.0.1:<port>/3/device/
    m.certs["ca_cert"]                   # CA bundle for herald's provider connections
    m.keys["apns"]["key_path"]           # credentials herald is configured with
    m.script("apns", [{"reason": "Unregistered"}])
    m.received("apns"); m.stats(); m.reset(); m.expire_tokens("fcm")
    m.restart()                          # same ports and configuration: "down, then back"
    m.stop()

The server runs as a child process with Debian's /usr/bin/python3 (python3-h2,
python3-cryptography); its output goes to <run_dir>/mock-providers.log. Certificates
and keys live in <run_dir>/mock-certs (see certs.py). The configuration given through
configure() is remembered and applied again after restart(); scripts, received
requests and issued tokens are not (a restarted provider has forgotten them).
"""
import http.client
import json
import os
import socket
import subprocess
import time
from urllib.parse import urlencode

from certs import make_certs, make_provider_keys

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MockError(Exception):
    """The control API refused a call, or the server did not start."""


class MockProviders:
    def __init__(self, run_dir, port, control_port, certs, no_record=False, verbose=False,
                 origin_host="push.mock.test"):
        self.run_dir = run_dir
        self.port = port
        self.control_port = control_port
        self.certs = certs
        self.no_record = no_record
        self.verbose = verbose
        self.origin_host = origin_host
        self.process = None
        self.keys = None
        self.sections = {}

    @classmethod
    def start(cls, run_dir, no_record=False, verbose=False, origin_host="push.mock.test",
              configure=True, timeout=20.0):
        """Start a server on free ports; with configure, load the credentials of
        certs.make_provider_keys() (in self.keys) into it."""
        os.makedirs(run_dir, exist_ok=True)
        cert_dir = os.path.join(run_dir, "mock-certs")
        mock = cls(run_dir, free_port(), free_port(), make_certs(cert_dir), no_record, verbose,
                   origin_host)
        mock.keys = make_provider_keys(cert_dir, mock.url("/fcm/token"))
        mock.spawn(timeout)
        if configure:
            mock.configure(**mock.keys["mock_config"])
        return mock

    def url(self, path=""):
        return "https://127.0.0.1:%d%s" % (self.port, path)

    def spawn(self, timeout):
        cmd = [PYTHON, os.path.join(HERE, "server.py"), "--port", str(self.port),
               "--control-port", str(self.control_port), "--cert", self.certs["server_cert"],
               "--key", self.certs["server_key"], "--client-ca", self.certs["client_ca_cert"],
               "--origin-host", self.origin_host]
        cmd.append("--verbose" if self.verbose else "--quiet")
        if self.no_record:
            cmd.append("--no-record")
        with open(os.path.join(self.run_dir, "mock-providers.log"), "ab") as log:
            self.process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise MockError("mock providers exited with %d; see %s/mock-providers.log"
                                % (self.process.returncode, self.run_dir))
            try:
                if self.call("GET", "/health").get("ok"):
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise MockError("mock providers not ready after %.0f s" % timeout)
            time.sleep(0.05)

    def stop(self):
        """Stop the server (SIGTERM, then SIGKILL after 5 s)."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def restart(self, timeout=20.0):
        """Stop and start again on the same ports, with the same configuration."""
        self.stop()
        self.spawn(timeout)
        if self.sections:
            self.call("POST", "/config", self.sections)

    def call(self, method, path, body=None):
        """One control API call; returns the decoded JSON answer."""
        conn = http.client.HTTPConnection("127.0.0.1", self.control_port, timeout=30)
        try:
            data = json.dumps(body).encode("utf-8") if body is not None else None
            headers = {"Content-Type": "application/json"} if data is not None else {}
            conn.request(method, path, data, headers)
            resp = conn.getresponse()
            answer = json.loads(resp.read() or b"null")
        finally:
            conn.close()
        if resp.status != 200:
            raise MockError("%s %s: %d %s" % (method, path, resp.status, answer))
        return answer

    def configure(self, **sections):
        """Replace the named providers' configuration (see server.py, POST /config)."""
        answer = self.call("POST", "/config", sections)
        self.sections.update(sections)
        return answer

    def script(self, provider, responses, replace=False):
        """Queue canned answers (see server.py, POST /script)."""
        return self.call("POST", "/script", {"provider": provider, "responses": responses,
                                             "replace": replace})

    def received(self, provider=None, since=0):
        query = {"since": since}
        if provider is not None:
            query["provider"] = provider
        return self.call("GET", "/received?" + urlencode(query))

    def wait_received(self, provider, count, timeout=10.0):
        """Poll until provider has received at least count requests; return them."""
        deadline = time.monotonic() + timeout
        while True:
            records = self.received(provider)
            if len(records) >= count or time.monotonic() > deadline:
                return records
            time.sleep(0.05)

    def stats(self):
        return self.call("GET", "/stats")

    def reset(self, tokens=False):
        return self.call("POST", "/reset", {"tokens": tokens})

    def expire_tokens(self, provider=None):
        return self.call("POST", "/expire-tokens", {"provider": provider} if provider else {})
