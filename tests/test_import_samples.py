"""Every real export in tests/fixtures/mitmproxy-test-data imports, and what is imported is what the file holds."""

from __future__ import annotations

import pytest

from tests.interchange_support import hops_of, run_cli, sample, traces


def imported(capsys, db_path, relative, *extra):
    code, out, err = run_cli(capsys, "import", sample(relative), "--db", db_path, *extra)
    assert code == 0, err
    assert "Imported" in out
    return hops_of(db_path)


@pytest.mark.parametrize(
    "relative, count, first_url, first_status",
    [
        ("har_files/chrome.har", 3, "https://mitmproxy.org/", 304),
        ("har_files/firefox.har", 14, "https://mitmproxy.org/", 304),
        ("har_files/safari.har", 19, "https://mitmproxy.org/", 200),
        ("har_files/charles.har", 1, "https://mitmproxy.org/?=", 200),
        ("har_files/insomnia.har", 1, "http://mitm.it/", 200),
        ("har_files/head-content-length.har", 1, "https://files.pythonhosted.org/packages/", 200),
        ("har_files/postdata.har", 1, "https://signal-metrics-collector-beta.s-onetag.com/metrics", 200),
        ("flows/compressed.zhar", 2, "https://example.com/", 200),
        ("flows/successful_log.har", 2, "https://example.com/", 200),
        ("flows/corrupted_gzip_body.har", 1, "http://127.0.0.1:5000/", 200),
        ("flows/event_stream.har", 2, "https://clientstream.launchdarkly.com/meval/", 200),
        ("flows/websocket.har", 3, "https://demo.piesocket.com/v3/channel_123?api_key=", 101),
        ("flows/incomplete_log.har", 4, "https://example.com/", None),
        ("flows/error_log.har", 2, "http://163.com/", None),
        ("flows/successful_log.mitm", 2, "https://example.com/", 200),
        ("flows/event_stream.mitm", 2, "https://clientstream.launchdarkly.com/meval/", 200),
        ("flows/websocket.mitm", 3, "https://demo.piesocket.com/v3/channel_123?api_key=", 101),
        ("flows/error_log.mitm", 2, "http://163.com/", None),
        ("dumpfile-018.mitm", 1, "https://www.example.com/", 200),
        ("dumpfile-019.mitm", 1, "https://webrv.rtb-seller.com/webrv-at?width=400", None),
        ("dumpfile-7-websocket.mitm", 6, "http://unknown/", None),
    ],
)
def test_every_sample_imports_as_one_trace(capsys, db_path, relative, count, first_url, first_status):
    hops = imported(capsys, db_path, relative)
    assert len(hops) == count
    assert [hop.seq for hop in hops] == list(range(1, count + 1))
    assert hops[0].url.startswith(first_url)
    assert hops[0].status == first_status
    assert [hop.started for hop in hops] == sorted(hop.started for hop in hops)
    assert traces(db_path)[0].name == relative.split("/")[-1]


def test_chrome_base64_body_and_failed_request(capsys, db_path):
    hops = imported(capsys, db_path, "har_files/chrome.har")
    assert hops[0].resp_body.startswith(b"<!DOCTYPE html>")  # content.encoding == "base64" was decoded
    assert len(hops[0].resp_body) == 23866
    assert hops[1].status is None and hops[1].error == "net::ERR_INTERNET_DISCONNECTED"
    assert hops[2].resp_content_type == "image/png" and hops[2].resp_body[:4] == b"\x89PNG"


def test_query_pairs_come_from_the_url_decoded_once_with_duplicates(capsys, db_path):
    hops = imported(capsys, db_path, "flows/websocket.har")
    assert hops[0].query == [("api_key", "VCXCEuvhGcBDP7XhiJJUDvR1e1D3eiVjgZ9VRiaV"), ("notify_self", "")]
    charles = imported(capsys, db_path, "har_files/charles.har")
    assert charles[0].query == [("", "")]


def test_form_pairs_and_post_body(capsys, db_path):
    hops = imported(capsys, db_path, "flows/successful_log.har")
    assert hops[1].method == "POST"
    assert hops[1].form == [("key1", "value1"), ("key2", "value2")]
    assert hops[1].req_body == b"key1=value1&key2=value2"
    post = imported(capsys, db_path, "har_files/postdata.har")
    assert b'"pageViewId":1689428126308' in post[0].req_body


def test_har_and_flow_file_of_the_same_capture_give_the_same_hops(capsys, db_path):
    from_har = imported(capsys, db_path, "flows/successful_log.har")
    from_flow = imported(capsys, db_path, "flows/successful_log.mitm")
    assert [(h.method, h.url, h.status, h.query, h.form, h.resp_body) for h in from_har] == [
        (h.method, h.url, h.status, h.query, h.form, h.resp_body) for h in from_flow
    ]
    assert traces(db_path)[-1].source == "import:mitmproxy"


def test_flow_file_errors_and_streams(capsys, db_path):
    hops = imported(capsys, db_path, "flows/error_log.mitm")
    assert "Connect call failed" in hops[0].error and hops[0].status is None
    assert hops[1].status == 405
    streams = imported(capsys, db_path, "flows/event_stream.mitm")
    assert streams[0].resp_content_type == "text/event-stream"
    assert streams[0].error == "stream reset by client (CANCEL)"


def test_zhar_is_the_same_capture_as_the_plain_har(capsys, db_path):
    plain = imported(capsys, db_path, "flows/successful_log.har")
    packed = imported(capsys, db_path, "flows/compressed.zhar")
    assert [(h.url, h.status, h.resp_body) for h in plain] == [(h.url, h.status, h.resp_body) for h in packed]


def test_fiddler_har_with_utf8_bom_and_crlf(capsys, db_path, tmp_path):
    # Fiddler writes HAR with a UTF-8 byte order mark and Windows line ends.
    text = sample("har_files/insomnia.har").read_text(encoding="utf-8").replace("\n", "\r\n")
    fiddler = tmp_path / "fiddler.har"
    fiddler.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    code, out, err = run_cli(capsys, "import", fiddler, "--db", db_path)
    assert code == 0, err
    assert hops_of(db_path)[0].url == "http://mitm.it/"


def test_gzipped_har(capsys, db_path, tmp_path):
    import gzip

    packed = tmp_path / "chrome.har.gz"
    packed.write_bytes(gzip.compress(sample("har_files/chrome.har").read_bytes()))
    code, _, err = run_cli(capsys, "import", packed, "--db", db_path)
    assert code == 0, err
    assert len(hops_of(db_path)) == 3


def test_name_option_and_several_files(capsys, db_path):
    code, out, err = run_cli(capsys, "import", sample("har_files/chrome.har"), sample("flows/websocket.mitm"),
                             "--db", db_path, "--name", "customer")
    assert code == 0, err
    assert [t.name for t in traces(db_path)] == ["customer (chrome.har)", "customer (websocket.mitm)"]
    assert [t.hop_count for t in traces(db_path)] == [3, 3]
    assert out.count("Imported") == 2
    code, _, _ = run_cli(capsys, "import", sample("har_files/insomnia.har"), "--db", db_path, "--name", "one")
    assert traces(db_path)[-1].name == "one"


def test_listener_is_browser_and_timings_come_from_the_har(capsys, db_path):
    hops = imported(capsys, db_path, "har_files/insomnia.har")
    hop = hops[0]
    assert hop.listener == "browser"
    # startedDateTime 2023-03-30T04:39:18.981Z, time 70.402 ms
    assert hop.started == pytest.approx(1680151158.981)
    assert hop.ended - hop.started == pytest.approx(0.070402, abs=1e-6)
