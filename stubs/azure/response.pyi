"""Type stubs for `azure.response`: the HTTP/1.1 response reader (Python, every board)."""

from typing import Dict, Tuple, Union

_Bytes = Union[bytes, bytearray, memoryview]

LINE_CAP: int
EXCERPT: int
MAX_KEPT: int

class Response:
    """Incremental HTTP/1.1 response reader, fed whatever bytes arrive."""

    keep: Tuple[bytes, ...]
    keep_all_but: Union[Tuple[bytes, ...], None]
    """When set, every header is kept but these (at most MAX_KEPT in all)."""
    body_cap: int
    status: int
    complete: bool
    keep_alive: bool
    retry_after: Union[int, None]
    headers: Dict[str, str]
    """The headers named in `keep` (lowercase names; a name ending in "-" is a prefix)."""
    body: memoryview
    """The first `body_cap` body bytes (chunked framing removed); a view, valid until the next response."""
    body_len: int
    body_cut: bool
    error_text: bytes
    want: int
    """What to read next: 0 a line, n > 0 exactly n body bytes, 2**32-1 until the connection closes."""

    def __init__(self, keep: Tuple[bytes, ...] = (), body_cap: int = 128, *,
                 keep_all_but: Union[Tuple[bytes, ...], None] = None) -> None: ...
    def feed(self, data: _Bytes) -> int:
        """Consumes bytes; returns how many (fewer only once complete)."""
    def eof(self) -> None:
        """The connection closed: completes a read-until-close body, else OSError."""
    def reset(self) -> None: ...

def classify(status: int) -> int:
    """0 success (2xx), 1 renew the token (401), 2 fatal, 3 retry (408, 429, 5xx)."""
