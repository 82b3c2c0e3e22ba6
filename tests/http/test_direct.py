"""Our pooled clients' requests go straight to httpcore2's pool (http/direct.py), and what goes
on the wire, and comes back, is what httpx2's own `Client.send` would send and give."""

from __future__ import annotations

import gzip
import logging
from typing import Any

import httpx2
import pytest

from llm_openai_compat.http import transport
from llm_openai_compat.http.pools import OwnedClients
from llm_openai_compat.http.retry import RetryPolicy
from llm_openai_compat.http.transport import Endpoint
from llm_openai_compat.runtime import Runtime
from tests.support.fault_server_fixture import FaultServer

ONCE = RetryPolicy(max_attempts=1)
OK = {"status": 200, "headers": {"content-type": "application/json"}, "body": '{"ok": true}'}


def _endpoint(url: str) -> Endpoint:
    headers = {"Authorization": "Bearer sk-direct-test", "X-Org": "acme", "User-Agent": "mine/1"}
    return Endpoint(provider="direct", url=url, headers=headers, timeout_ms=5000, model="m")


def test_our_pools_take_the_direct_road_and_send_the_headers_httpx2_would(fault_server: FaultServer):
    runtime = Runtime()
    try:
        lease = runtime.pools.lease(fault_server.url())
        runtime.pools.release(lease)
        assert lease.route is not None  # the direct road, for a client of ours
        fault_server.enqueue(OK, OK)
        ours = transport.send(_endpoint(fault_server.url()), b'{"a": 1}', pools=runtime.pools, policy=ONCE)
        with httpx2.Client() as client:  # the same request through httpx2's own send
            owned = OwnedClients(runtime.pools, client)
            theirs = transport.send(_endpoint(fault_server.url()), b'{"a": 1}', pools=owned, policy=ONCE)
        assert ours.content == theirs.content == b'{"ok": true}'
        assert ours.status_code == 200 and ours.headers["content-type"] == "application/json"
        direct, through_httpx2 = fault_server.requests()
        assert direct["headers"] == through_httpx2["headers"]  # host, defaults, ours, length
        assert direct["headers"]["user-agent"] == "mine/1"  # a header given replaces the default
        assert direct["body"] == through_httpx2["body"] == '{"a": 1}'
    finally:
        runtime.close()


def test_a_compressed_body_is_decoded_as_httpx2_decodes_it(fault_server: FaultServer):
    packed = gzip.compress(b'{"ok": "compressed"}')
    fault_server.enqueue({
        "status": 200, "headers": {"content-type": "application/json", "content-encoding": "gzip"},
        "body_b64": __import__("base64").b64encode(packed).decode(),
    })
    runtime = Runtime()
    try:
        response = transport.send(_endpoint(fault_server.url()), b"{}", pools=runtime.pools, policy=ONCE)
        assert response.content == b'{"ok": "compressed"}'
    finally:
        runtime.close()


def test_a_base_url_with_userinfo_goes_through_httpx2(fault_server: FaultServer):
    """httpx2 turns `user:password@` into Basic auth; that road is kept for such a URL, even
    when its origin's pool was opened by a plain URL first (the pool is per origin)."""
    fault_server.enqueue(OK, OK)
    runtime = Runtime()
    try:
        plain = Endpoint(provider="direct", url=fault_server.url(), timeout_ms=5000)
        transport.send(plain, b"{}", pools=runtime.pools, policy=ONCE)
        with_user = fault_server.url().replace("http://", "http://user:pw@")
        ep = Endpoint(provider="direct", url=with_user, timeout_ms=5000)
        transport.send(ep, b"{}", pools=runtime.pools, policy=ONCE)
        first, second = fault_server.requests()
        assert "authorization" not in first["headers"]
        assert second["headers"]["authorization"] == "Basic dXNlcjpwdw=="  # user:pw
    finally:
        runtime.close()


def test_httpx2_info_line_is_still_written(fault_server: FaultServer, caplog: pytest.LogCaptureFixture):
    fault_server.enqueue(OK)
    runtime = Runtime()
    try:
        with caplog.at_level(logging.INFO, logger="httpx2"):
            transport.send(_endpoint(fault_server.url()), b"{}", pools=runtime.pools, policy=ONCE)
        assert any(
            r.name == "httpx2" and r.getMessage().startswith("HTTP Request: POST ") and '200 OK"' in r.getMessage()
            for r in caplog.records
        )
    finally:
        runtime.close()


def test_a_proxy_from_the_environment_is_used(fault_server: FaultServer, monkeypatch: pytest.MonkeyPatch):
    """HTTP_PROXY applies on the direct road as in httpx2: the proxy (a local server here) gets
    the absolute-form request; the target (another loopback address) is never connected to."""
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", fault_server.base_url)
    fault_server.enqueue(OK)
    runtime = Runtime()
    try:
        target = "http://127.0.0.2:9/v1/chat/completions"
        lease = runtime.pools.lease(target)
        runtime.pools.release(lease)
        assert lease.route is not None
        response = transport.send(_endpoint(target), b"{}", pools=runtime.pools, policy=ONCE)
        assert response.content == b'{"ok": true}'
        [request] = fault_server.requests()
        assert request["headers"]["host"] == "127.0.0.2:9"
        assert "127.0.0.2:9" in str(request.get("target") or request.get("path"))
    finally:
        runtime.close()


def test_kept_connections_through_a_proxy_carry_every_request_whole(
    fault_server: FaultServer, monkeypatch: pytest.MonkeyPatch
):
    """Streams through HTTP_PROXY on one kept connection, bodies of different lengths, with a
    `SENT` hook given: each request reaches the proxy whole, in absolute form, and each answer
    is read (a proxied connection may or may not run the hook: it is never required)."""
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", fault_server.base_url)
    bodies = [b"{}", b'{"model": "m", "n": 12345}', b'{"a": 1}']
    fault_server.enqueue(*[OK] * len(bodies))
    runtime = Runtime()
    try:
        target = "http://127.0.0.2:9/v1/chat/completions"
        for body in bodies:
            with transport.send_stream(
                _endpoint(target), body, pools=runtime.pools, policy=ONCE, on_sent=lambda: None
            ) as response:
                assert b"".join(transport.iter_body(response, _endpoint(target))) == b'{"ok": true}'
        seen = fault_server.requests()
        assert [r["body"] for r in seen] == [b.decode() for b in bodies]
        assert all(r["headers"]["host"] == "127.0.0.2:9" for r in seen)
        assert all(r["headers"]["content-length"] == str(len(b)) for r, b in zip(seen, bodies, strict=True))
    finally:
        runtime.close()


@pytest.mark.parametrize("kind", ["refused", "timeout"])
def test_httpcore2_errors_become_the_same_errors(kind: str, fault_server: FaultServer):
    from llm_openai_compat import errors

    runtime = Runtime()
    try:
        if kind == "refused":
            url = fault_server.refused_url()
            expected: Any = errors.ConnectError
        else:
            fault_server.enqueue({**OK, "delay_before_headers": 2.0})
            url = fault_server.url()
            expected = errors.NetworkTimeout
        ep = Endpoint(provider="direct", url=url, timeout_ms=300, model="m")
        with pytest.raises(expected):
            transport.send(ep, b"{}", pools=runtime.pools, policy=ONCE)
    finally:
        runtime.close()


def test_a_host_header_given_replaces_the_urls_and_the_length_is_the_bodys():
    from llm_openai_compat.http.direct import Route, _headers

    route = Route(None, {b"accept": (b"Accept", b"*/*"), b"user-agent": (b"User-Agent", b"x/1")})
    sent = _headers(route, b"127.0.0.1:9", {"Host": "api.example", "Content-Length": "999"}, b"{}")
    names = [name.lower() for name, _ in sent]
    assert names.count(b"host") == 1 and (b"Host", b"api.example") in sent
    assert names.count(b"content-length") == 1 and (b"Content-Length", b"2") in sent
    plain = _headers(route, b"127.0.0.1:9", {"Authorization": "Bearer k"}, None)
    assert plain[0] == (b"Host", b"127.0.0.1:9") and b"content-length" not in [n.lower() for n, _ in plain]
