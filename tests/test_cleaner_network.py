"""The cleaner never fetches a URL (issue 12, item 4).

Proves: an HTML page whose body is a bare local URL, or HTML whose links, meta refresh and base point at a
local listener, makes no connection to that listener while cleaning; trafilatura and htmldate get a tree
parsed by the cleaner, never a string they could download. Does not prove: anything about DNS lookups
(no host names are used here) or libraries the cleaner does not call.
"""

from __future__ import annotations

import contextlib
import socket
import threading

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from schemas import RawArticle
from services.cleaner import CleaningError, analyze


@pytest.fixture
def listener():
    """A TCP listener on 127.0.0.1 that counts the connections it receives."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.1)
    hits: list[bytes] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1)
                with contextlib.suppress(OSError):
                    hits.append(conn.recv(4096) or b"(connected)")
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 60\r\n\r\n"
                                 b"<html><body><p>fetched from the listener</p></body></html>")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], hits
    stop.set()
    thread.join(timeout=2)
    server.close()


def _clean(body: str) -> Exception | None:
    """Clean one page; the exception it raised, if any (a refusal is fine, anything else is checked after)."""
    try:
        analyze(RawArticle(body=body, content_type="text/html"))
    except CleaningError:
        return None
    except Exception as exc:  # reported by the test after the listener's count
        return exc
    return None


def test_an_html_body_that_is_a_bare_url_is_not_fetched(listener):
    port, hits = listener
    errors = [_clean(body) for body in (f"http://127.0.0.1:{port}/admin", f"https://127.0.0.1:{port}/x",
                                        f"http://127.0.0.1:{port}/\n")]
    assert hits == []
    assert errors == [None, None, None]


def test_a_page_without_spaces_that_starts_with_a_url_is_not_fetched(listener):
    # htmldate downloads a string that starts with "http" and has no space; trafilatura extracts text from it first
    port, hits = listener
    text = "한빛시는체코올로모우츠시와관광교류협약을맺었다고3일밝혔다.두도시는내년부터청소년교류도이어간다."
    error = _clean(f"http://127.0.0.1:{port}/<html><body><article><h1>한빛시관광교류</h1><p>{text}</p><p>{text}</p>"
                   "</article></body></html>")
    assert hits == []
    assert error is None


def test_urls_inside_a_page_are_not_fetched(listener):
    port, hits = listener
    url = f"http://127.0.0.1:{port}"
    page = (f'<html><head><base href="{url}/"><meta http-equiv="refresh" content="0; url={url}/r">'
            f'<link rel="canonical" href="{url}/c"><meta property="og:url" content="{url}/o"></head>'
            f'<body><article><h1>한빛시, 체코 올로모우츠와 관광 교류</h1><img src="{url}/i.jpg">'
            f'<p>한빛시는 체코 올로모우츠시와 관광 교류 협약을 맺었다고 3일 밝혔다. <a href="{url}/a">더보기</a></p>'
            f"</article></body></html>")
    errors = [_clean(page), _clean(f"{url}/{page}")]  # the second starts with the URL, then the page
    assert hits == []
    assert errors == [None, None]


@settings(max_examples=40, deadline=None)
@example("</0")  # lxml: "Document is empty"
@given(st.text(alphabet=st.sampled_from(list("<>/=\"' htpbodyarticle:.1270한빛시는협력했다\n&;#x")), min_size=1, max_size=300).filter(str.strip))
def test_any_html_body_is_cleaned_or_refused_without_fetching(body):
    """Whatever an HTML body holds, the cleaner returns an article or refuses it; nothing else escapes."""
    assert _clean(body) is None
