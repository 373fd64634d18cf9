"""The model files the stages ship (`.npz` of plain arrays plus a JSON `meta`), and how one is read."""
from __future__ import annotations

import json

import numpy as np


def read_model_arrays(path: str, needed: set[str], format_name: str, error: type[Exception], what: str) -> tuple[dict, dict]:
    """The arrays and the `meta` of a model file; every problem raises `error` naming the file (`what`: the model's name)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except FileNotFoundError:
        raise error(f"{what} file {path} does not exist") from None
    except (OSError, ValueError) as err:
        raise error(f"{what} file {path} is not a readable .npz: {err}") from None
    missing = (needed | {"meta"}) - set(arrays)
    if missing:
        raise error(f"{what} file {path} lacks {sorted(missing)}")
    meta = json.loads(str(arrays["meta"]))
    if meta.get("format") != format_name:
        raise error(f"{what} file {path} has format {meta.get('format')!r}, expected {format_name!r}")
    return arrays, meta
