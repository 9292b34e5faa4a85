"""Where a dataset's bytes come from and which format they are in.

Formats: CSV (text with a header row), TFRecord files of `tf.train.Example` (TensorFlow's own format,
optionally GZIP-compressed) and NPZ (numpy arrays x, y, feature_names). Parquet is refused by name:
reading it needs pyarrow, which the worker image does not carry (a large native dependency for one
format); convert to CSV or TFRecord instead.
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from modelops.api.vocabulary import DATASET_FORMATS
from modelops.workloads.config.stage import DatasetSpec
from modelops.workloads.errors import DATASET_UNREADABLE, INVALID_CONFIG, WorkloadError

HTTP_TIMEOUT_SECONDS = 60.0
SUFFIX_FORMATS = {"csv": "csv", "npz": "npz", "tfrecord": "tfrecord", "tfrecords": "tfrecord", "tfr": "tfrecord"}
UNSUPPORTED_SUFFIXES = {"parquet": "Parquet", "pq": "Parquet", "feather": "Feather", "arrow": "Arrow",
                        "xlsx": "Excel", "xls": "Excel", "json": "JSON", "jsonl": "JSON lines"}


def read_bytes(uri: str) -> bytes:
    """Fetch the raw file from a mounted path or an http(s) URL."""
    scheme = urllib.parse.urlparse(uri).scheme
    if scheme in ("http", "https"):
        try:
            with urllib.request.urlopen(uri, timeout=HTTP_TIMEOUT_SECONDS) as response:
                return response.read()
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise WorkloadError(DATASET_UNREADABLE, f"dataset {uri}: cannot download: {exc}") from exc
    path = Path(urllib.parse.urlparse(uri).path if scheme == "file" else uri)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise WorkloadError(DATASET_UNREADABLE, f"dataset {uri}: cannot read: {exc.strerror or exc}") from exc


def infer_format(spec: DatasetSpec) -> str:
    """The spec's `format`, else the file's extension (`.gz` after it ignored: `x.tfrecord.gz` is TFRecord)."""
    if spec.format is not None:
        return spec.format
    suffixes = [s.lower().lstrip(".") for s in Path(urllib.parse.urlparse(spec.uri).path).suffixes]
    if suffixes and suffixes[-1] == "gz":
        suffixes.pop()
    suffix = suffixes[-1] if suffixes else ""
    supported = ", ".join(DATASET_FORMATS)
    if suffix in SUFFIX_FORMATS:
        return SUFFIX_FORMATS[suffix]
    if suffix in UNSUPPORTED_SUFFIXES:
        why = (" (reading it needs pyarrow, which the worker image does not include)"
               if UNSUPPORTED_SUFFIXES[suffix] in ("Parquet", "Feather", "Arrow") else "")
        raise WorkloadError(INVALID_CONFIG, f"config.dataset.format: {spec.uri!r} is a {UNSUPPORTED_SUFFIXES[suffix]} "
                                            f"file, which the worker cannot read{why}; convert it to one of the "
                                            f"supported formats: {supported}")
    raise WorkloadError(INVALID_CONFIG, f"config.dataset.format: cannot infer a format from {spec.uri!r} "
                                        f"(no .csv, .tfrecord or .npz extension); set it to one of {supported}")
