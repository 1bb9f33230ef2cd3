"""The official Python `kubernetes` client against `rkube server`:
ConfigMap create, get, list (with selectors and paging), watch, patch,
replace conflicts and delete in a fresh namespace.
"""

import threading
import time

import pytest
from kubernetes import client, watch


def cm(name, data=None, labels=None):
    return client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name=name, labels=labels or {}),
        data=data or {},
    )


def test_server_version(api_client):
    info = client.VersionApi(api_client).get_code()
    assert info.major == "1"
    assert info.git_version.startswith("v1.")


def test_create_get_list(core, namespace):
    created = core.create_namespaced_config_map(namespace, cm("one", {"k": "v"}, {"app": "a"}))
    assert created.metadata.namespace == namespace
    assert created.metadata.uid
    assert created.metadata.resource_version
    core.create_namespaced_config_map(namespace, cm("two", {"k": "w"}, {"app": "b"}))

    got = core.read_namespaced_config_map("one", namespace)
    assert got.data == {"k": "v"}

    items = core.list_namespaced_config_map(namespace).items
    assert sorted(i.metadata.name for i in items if i.metadata.name in ("one", "two")) == ["one", "two"]
    sel = core.list_namespaced_config_map(namespace, label_selector="app=b").items
    assert [i.metadata.name for i in sel] == ["two"]
    by_field = core.list_namespaced_config_map(namespace, field_selector="metadata.name=one").items
    assert [i.metadata.name for i in by_field] == ["one"]

    with pytest.raises(client.ApiException) as e:
        core.create_namespaced_config_map(namespace, cm("one"))
    assert e.value.status == 409


def test_paging(core, namespace):
    for i in range(7):
        core.create_namespaced_config_map(namespace, cm(f"page-{i}", labels={"set": "p"}))
    names, token, pages = [], None, 0
    while True:
        resp = core.list_namespaced_config_map(
            namespace, label_selector="set=p", limit=3, _continue=token)
        pages += 1
        names += [i.metadata.name for i in resp.items]
        token = resp.metadata._continue
        if not token:
            break
    assert pages == 3
    assert names == [f"page-{i}" for i in range(7)]


def test_watch(core, namespace):
    core.create_namespaced_config_map(namespace, cm("before"))
    events = []

    def changes():
        time.sleep(1)
        core.create_namespaced_config_map(namespace, cm("watched", {"k": "1"}))
        core.patch_namespaced_config_map("watched", namespace, {"data": {"k": "2"}})
        core.delete_namespaced_config_map("watched", namespace)

    t = threading.Thread(target=changes)
    t.start()
    w = watch.Watch()
    for ev in w.stream(core.list_namespaced_config_map, namespace, timeout_seconds=5):
        events.append((ev["type"], ev["object"].metadata.name,
                       (ev["object"].data or {}).get("k")))
        if ev["type"] == "DELETED":
            w.stop()
    t.join()
    assert ("ADDED", "before", None) in events
    watched = [e for e in events if e[1] == "watched"]
    assert watched == [("ADDED", "watched", "1"), ("MODIFIED", "watched", "2"),
                       ("DELETED", "watched", "2")]


def test_watch_times_out(core, namespace):
    start = time.monotonic()
    # A selector nothing matches: the cluster itself adds objects to new
    # namespaces (the kube-root-ca.crt ConfigMap), as upstream does.
    sel = "rkube-test=nothing"
    rv = core.list_namespaced_config_map(namespace, label_selector=sel).metadata.resource_version
    events = list(watch.Watch().stream(
        core.list_namespaced_config_map, namespace, label_selector=sel,
        resource_version=rv, timeout_seconds=2))
    assert events == []
    assert time.monotonic() - start < 30


def test_patch_kinds(core, namespace):
    core.create_namespaced_config_map(namespace, cm("p", {"a": "1"}, {"x": "y"}))
    # A dict body is sent as a strategic merge patch for built-in types.
    out = core.patch_namespaced_config_map("p", namespace, {"data": {"b": "2"}})
    assert out.data == {"a": "1", "b": "2"}
    # A list body is a JSON patch.
    out = core.patch_namespaced_config_map(
        "p", namespace, [{"op": "remove", "path": "/data/a"}])
    assert out.data == {"b": "2"}
    out = core.patch_namespaced_config_map("p", namespace, {"metadata": {"labels": {"x": None}}})
    assert not out.metadata.labels


def test_replace_conflict_and_delete(core, namespace):
    first = core.create_namespaced_config_map(namespace, cm("r", {"k": "v"}))
    newer = core.read_namespaced_config_map("r", namespace)
    newer.data = {"k": "new"}
    core.replace_namespaced_config_map("r", namespace, newer)
    first.data = {"k": "stale"}
    with pytest.raises(client.ApiException) as e:
        core.replace_namespaced_config_map("r", namespace, first)
    assert e.value.status == 409
    assert "the object has been modified" in e.value.body

    core.delete_namespaced_config_map("r", namespace)
    with pytest.raises(client.ApiException) as e:
        core.read_namespaced_config_map("r", namespace)
    assert e.value.status == 404

    with pytest.raises(client.ApiException) as e:
        core.create_namespaced_config_map(namespace, cm("Bad_Name"))
    assert e.value.status == 422
