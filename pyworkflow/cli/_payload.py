"""Reading a JSON payload from the command line (``--payload`` / ``--payload-file``).

Shared by ``hooks resume`` and ``runs signal``: a payload given here meets the
limits the HTTP endpoint and the worker apply (:func:`pyworkflow.serialization.parse_json`),
so what the command line accepts the run can always decode.
"""

from __future__ import annotations

import json
import shlex
from typing import IO, Any

from ..serialization import PayloadError, parse_json
from ._root import CliError

EXAMPLE_PAYLOAD = """'{"approved": true}'"""


def quoted_payload(value: Any) -> str:
    """``value`` as JSON, quoted for a POSIX shell: what a suggested command shows."""
    return shlex.quote(json.dumps(value, ensure_ascii=False))


def read_payload(payload: str | None, payload_file: IO[str] | None, *,
                 required: bool = True) -> Any:
    """The payload, parsed and checked; a ``CliError`` (one line) otherwise. When not
    ``required``, giving neither option means ``None``."""
    if payload is not None and payload_file is not None or \
            required and payload is None and payload_file is None:
        raise CliError(f"give the payload with exactly one of --payload JSON or --payload-file "
                       f"FILE, e.g. --payload {EXAMPLE_PAYLOAD} (use --payload null for none)")
    if payload is None and payload_file is None:
        return None
    if payload is not None:
        source, text = "--payload", payload
    else:
        assert payload_file is not None
        source = f"--payload-file {payload_file.name}"
        try:
            text = payload_file.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise CliError(f"cannot read {source}: {exc}") from None
    try:
        return parse_json(text, source)
    except PayloadError as exc:
        example = f"; e.g. --payload {EXAMPLE_PAYLOAD}" if exc.reason == "json" else ""
        raise CliError(f"{exc}{example}") from None
