"""The request deadline and the stop check reach the socket (http/bounded.py).

`guarded_transport` puts a guarded network backend under httpx's connection pool, through an
attribute httpx and httpcore keep private. If an upgrade moves it, requests still work but the
deadline and the stop are only checked between body chunks, and a server trickling its
headers would hold a run again: this test makes such an upgrade fail loudly instead.
"""

from __future__ import annotations

from tasman_etl.http.bounded import guarded_transport, is_guarded


def test_the_transport_guards_every_socket_read() -> None:
    transport = guarded_transport()
    try:
        assert is_guarded(transport), (
            "httpx/httpcore changed: the guarded backend is not in the connection pool; "
            "see http/bounded.py::guarded_transport"
        )
    finally:
        transport.close()
