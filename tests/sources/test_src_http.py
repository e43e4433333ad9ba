"""HTTP plumbing and credential hygiene: Retry-After, backoff, 4xx, masking, 0600 config files."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime

import httpx
import pytest
import respx

from hashdesk.sources import chain_source
from hashdesk.sources.base import (
    ConfigError,
    NotFoundError,
    RetryPolicy,
    Secret,
    SourceError,
    load_source_config,
    mask_url,
    retry_after_seconds,
)


def test_src_retry_after_forms():
    assert retry_after_seconds("120") == 120.0
    now = datetime(2026, 1, 5, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("Mon, 05 Jan 2026 12:00:30 GMT", now) == 30.0
    assert retry_after_seconds("Mon, 05 Jan 2026 11:00:00 GMT", now) == 0.0  # in the past
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_src_backoff_doubles_and_caps():
    p = RetryPolicy(backoff_s=0.5, max_backoff_s=3.0)
    assert [p.backoff(k) for k in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_src_5xx_retried_then_4xx_raised_at_once(make_client, sleeps):
    with respx.mock(base_url="https://x.test") as r:
        route = r.get("/a").mock(side_effect=[httpx.Response(503), httpx.Response(502),
                                              httpx.Response(200, text="ok")])
        assert make_client("https://x.test").get_text("/a") == "ok"
        assert route.call_count == 3 and sleeps == [0.5, 1.0]
        r.get("/missing").mock(return_value=httpx.Response(404, text="Block not found"))
        with pytest.raises(NotFoundError):
            make_client("https://x.test").get_text("/missing")
        r.get("/forbidden").mock(return_value=httpx.Response(403))
        with pytest.raises(SourceError, match="HTTP 403"):
            make_client("https://x.test").get_text("/forbidden")
    assert sleeps == [0.5, 1.0]  # no retry on 404/403


def test_src_credentials_never_logged(make_client, caplog):
    caplog.set_level(logging.WARNING, logger="hashdesk.sources")
    with respx.mock() as r:
        r.get(url__startswith="http://node.test").mock(return_value=httpx.Response(500))
        client = make_client("http://alice:hunter2@node.test/?token=tok3n")
        with pytest.raises(SourceError) as exc:
            client.get_text("")
    text = caplog.text + str(exc.value)
    assert "retry 1" in caplog.text and "alice:***@node.test" in text
    assert "hunter2" not in text and "tok3n" not in text


def test_src_mask_url_and_secret():
    assert mask_url("https://u:p@h/x?apikey=1&a=2") == "https://u:***@h/x?apikey=%2A%2A%2A&a=2"
    assert mask_url("https://h/api") == "https://h/api"
    s = Secret("pw")
    assert (str(s), repr(s), f"{s}", s.value) == ("***", "Secret('***')", "***", "pw")


def test_src_config_file_must_be_private(tmp_path):
    cfg = tmp_path / "sources.yaml"
    cfg.write_text("esplora:\n  url: https://esplora.test/api\n  token: t0ken\n")
    os.chmod(cfg, 0o640)
    with pytest.raises(ConfigError, match="0640"):
        load_source_config(cfg)
    os.chmod(cfg, 0o600)
    conf = load_source_config(cfg)
    assert conf["esplora"]["url"] == "https://esplora.test/api"
    assert isinstance(conf["esplora"]["token"], Secret) and "t0ken" not in repr(conf)
    assert load_source_config(tmp_path / "absent.yaml") == {}


def test_src_token_sent_as_bearer_and_env_overrides(tmp_path, monkeypatch):
    monkeypatch.setenv("HASHDESK_ESPLORA_TOKEN", "envtok")
    monkeypatch.delenv("HASHDESK_ESPLORA_URL", raising=False)
    src = chain_source("esplora", None, config={"esplora": {"url": "https://esplora.test/api",
                                                            "token": Secret("filetok")}})
    with respx.mock() as r:
        route = r.get("https://esplora.test/api/blocks/tip/height").mock(
            return_value=httpx.Response(200, text="7"))
        assert src.tip_height() == 7
    assert route.calls[0].request.headers["authorization"] == "Bearer envtok"
    with pytest.raises(ValueError, match="unknown chain source"):
        chain_source("electrum", None, config={})


def test_src_bad_yaml_config(tmp_path):
    cfg = tmp_path / "s.yaml"
    cfg.write_text("- just\n- a list\n")
    os.chmod(cfg, 0o600)
    with pytest.raises(ConfigError, match="mapping"):
        load_source_config(cfg)
