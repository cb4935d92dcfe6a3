"""Reading and writing safetensors files from Python, for the scripts in this folder.

Uses the `safetensors` package when it is installed (pip install safetensors) and
otherwise a small implementation of the format, which is simple enough to write out:

    8 bytes      little-endian uint64 N, the length of the header
    N bytes      JSON: {"__metadata__": {str: str}, name: {"dtype": "F32", "shape": [..],
                        "data_offsets": [begin, end]}, ...}, padded with spaces
    the rest     the tensors' bytes, little-endian, row-major, back to back

Only what the scripts need: float16/bfloat16/float32/float64 and int64 tensors. The
functions have the package's names and results: `save_file(tensors, path, metadata=None)`,
`load_file(path)` → {name: tensor}, and `safe_open(path, framework="pt")` for the metadata
(`.metadata()`), the names (`.keys()`) and one tensor at a time (`.get_tensor(name)`).
"""
import json
import struct

import torch

try:  # the official package, if present
    import safetensors.torch as _st
    from safetensors import safe_open as _safe_open
except ImportError:  # pragma: no cover - depends on the machine
    _st = None

_DTYPES = {
    torch.float16: ("F16", 2), torch.bfloat16: ("BF16", 2), torch.float32: ("F32", 4),
    torch.float64: ("F64", 8), torch.int64: ("I64", 8),
}
_BY_NAME = {name: (dtype, size) for dtype, (name, size) in _DTYPES.items()}


def save_file(tensors, path, metadata=None):
    """Writes {name: tensor} to `path` with an optional {str: str} metadata map."""
    tensors = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    if _st is not None:
        _st.save_file(tensors, path, metadata=metadata)
        return
    header, chunks, offset = {}, [], 0
    # Largest element type first, then by name: every tensor starts aligned for its type,
    # and the same tensors always give the same bytes.
    for name in sorted(tensors, key=lambda n: (-_DTYPES[tensors[n].dtype][1], n)):
        t = tensors[name]
        if t.dtype == torch.bfloat16:
            raw = t.view(torch.int16).numpy().astype("<i2").tobytes()
        else:
            raw = t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": _DTYPES[t.dtype][0], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in chunks:
            f.write(raw)


def _read(path):
    """({name: tensor}, metadata) from the file at `path`, without the `safetensors` package."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    metadata = header.pop("__metadata__", None)
    body = data[8 + n:]
    tensors = {}
    for name, entry in header.items():
        dtype, _ = _BY_NAME[entry["dtype"]]
        begin, end = entry["data_offsets"]
        raw = bytearray(body[begin:end])
        if dtype == torch.bfloat16:
            t = torch.frombuffer(raw, dtype=torch.int16).view(torch.bfloat16) if raw else torch.empty(0, dtype=dtype)
        else:
            t = torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)
        tensors[name] = t.reshape(entry["shape"]).clone()
    return tensors, metadata


class _SafeOpen:
    """What `safetensors.safe_open(path, framework="pt")` returns: keys(), get_tensor(name),
    metadata() (None when the file has none), usable in a `with` block."""

    def __init__(self, path, framework="pt", device="cpu"):
        if framework != "pt":
            raise ValueError(f"safe_open: only framework='pt' is supported here, got {framework!r}")
        self._tensors, self._metadata = _read(path)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def keys(self):
        return list(self._tensors)

    def get_tensor(self, name):
        return self._tensors[name]

    def metadata(self):
        return self._metadata


def load_file(path, device="cpu"):
    """{name: tensor} from the safetensors file at `path`, as `safetensors.torch.load_file`.
    The metadata map is read with `safe_open(path, framework="pt").metadata()`."""
    if _st is not None:
        return _st.load_file(path, device=device)
    return _read(path)[0]


def safe_open(path, framework="pt", device="cpu"):
    """The file at `path` opened as `safetensors.safe_open` does (keys, get_tensor, metadata)."""
    if _st is not None:
        return _safe_open(path, framework=framework, device=device)
    return _SafeOpen(path, framework=framework, device=device)
