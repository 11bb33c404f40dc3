"""A checkpoint's metadata: a JSON object, stored as text under the reserved name ``__metadata__``."""
import json

from ..errors import MinigenError

METADATA_KEY = "__metadata__"


def to_json(metadata):
    """The metadata dict (None: {}) as JSON text; TypeError if it is not a JSON-serialisable dict."""
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        raise TypeError(f"save: metadata must be a dict, not {type(metadata).__name__}")
    try:
        return json.dumps(metadata)
    except (TypeError, ValueError) as e:
        raise TypeError(f"save: metadata is not JSON-serialisable: {e}") from e


def from_json(path, text):
    """The metadata dict stored as ``text`` in the file ``path``; MinigenError if it is not a JSON object."""
    try:
        metadata = json.loads(text)
    except ValueError as e:
        raise MinigenError(f"{path}: corrupt checkpoint metadata: {e}") from e
    if not isinstance(metadata, dict):
        raise MinigenError(f"{path}: corrupt checkpoint metadata: not a JSON object")
    return metadata
