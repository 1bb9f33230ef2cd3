"""Pytest fixtures: start a real `rkube server` for the Python client tests.

The binary comes from $RKUBE_BIN, else $CARGO_TARGET_DIR/debug/rkube, else
target/debug/rkube in the repository. Each test session gets one server on
a free port with its own data directory; each test its own namespace.
"""

import os
import pathlib
import signal
import ssl
import subprocess
import time
import urllib.request
import uuid

import pytest
from kubernetes import client, config

REPO = pathlib.Path(__file__).resolve().parents[2]


def rkube_bin() -> str:
    if os.environ.get("RKUBE_BIN"):
        return os.environ["RKUBE_BIN"]
    target = os.environ.get("CARGO_TARGET_DIR") or str(REPO / "target")
    return str(pathlib.Path(target) / "debug" / "rkube")


def _server_url(kubeconfig: pathlib.Path):
    try:
        text = kubeconfig.read_text()
    except FileNotFoundError:
        return None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("server: "):
            return line[len("server: "):].strip()
    return None


def _ready(url: str) -> bool:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(url + "/readyz", context=ctx, timeout=2) as r:
            return r.status == 200 and r.read().strip() == b"ok"
    except OSError:
        return False


@pytest.fixture(scope="session")
def rkube_server(tmp_path_factory):
    """A running server; yields the path of its admin kubeconfig."""
    binary = rkube_bin()
    if not os.path.exists(binary):
        pytest.fail(f"rkube binary not found at {binary}; build it or set RKUBE_BIN")
    data = tmp_path_factory.mktemp("rkube")
    kubeconfig = data / "kubeconfig"
    log = open(data / "server.log", "wb")
    proc = subprocess.Popen(
        [binary, "server", "--data-dir", str(data), "--bind-address", "127.0.0.1",
         "--https-port", "0", "--disable-agent"],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"rkube server exited: {(data / 'server.log').read_text()}")
            url = _server_url(kubeconfig)
            if url and _ready(url):
                break
            if time.monotonic() > deadline:
                pytest.fail(f"rkube server not ready: {(data / 'server.log').read_text()}")
            time.sleep(0.1)
        yield str(kubeconfig)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture
def api_client(rkube_server):
    return config.new_client_from_config(config_file=rkube_server)


@pytest.fixture
def core(api_client):
    return client.CoreV1Api(api_client)


@pytest.fixture
def namespace(core):
    """A fresh namespace per test, deleted afterwards."""
    name = "py-" + uuid.uuid4().hex[:8]
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    try:
        core.delete_namespace(name)
    except client.ApiException:
        pass
