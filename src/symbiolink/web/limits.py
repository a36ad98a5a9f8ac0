"""Limits on what a request may carry, each answered with a clear 4xx before any work is done."""

from __future__ import annotations

#: Deepest nesting of objects and arrays a JSON body may have (a park file needs 4).
MAX_JSON_DEPTH = 32
#: Most parks + companies + streams one uploaded park file may hold.
MAX_ROWS = 200_000


def json_depth(data: bytes, limit: int = MAX_JSON_DEPTH) -> int:
    """The nesting depth of a JSON text, scanning at most until it passes ``limit`` (brackets inside
    strings do not count).

    Examples
    --------
    >>> json_depth(b'{"a": [1, {"b": "[[["}]}')
    3
    >>> json_depth(b"[" * 100, limit=10)
    11
    """
    depth = deepest = 0
    in_string = escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    return deepest
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest
