"""The chunk store in local chromadb folders: one folder per generation under
``LOTSE_HOME/store`` and a ``CURRENT`` file, replaced atomically, that names the live one.

No two processes ever write the same chromadb folder (chroma issues #421, #2399, #7040):
a writer builds a new folder under a file lock, and readers open published folders only.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from kb.chroma_client import persistent_client
from kb.errors import StoreError
from kb.generation import Generation
from kb.generation_store import ChromaChunkStore
from kb.generation_writer import GenerationWriter
from kb.settings import LotseSettings


class PersistentChunkStore(ChromaChunkStore):
    """One chromadb folder per generation; ``CURRENT`` names the live one."""

    def __init__(self, settings: LotseSettings) -> None:
        super().__init__(settings)
        self.root = self.home / "store"
        self.root.mkdir(parents=True, exist_ok=True)

    def _gen_dir(self, gen_id: str) -> Path:
        return self.root / f"gen-{gen_id}"

    def cache_dir(self, gen_id: str) -> Path:
        return self._gen_dir(gen_id) / "cache"

    def _client(self, gen_id: str) -> Any:
        return persistent_client(self._gen_dir(gen_id))

    def _read_pointer(self) -> str | None:
        try:
            gen_id = (self.root / "CURRENT").read_text().strip()
        except FileNotFoundError:
            return None
        return gen_id if (self._gen_dir(gen_id) / "generation.json").exists() else None

    def _open(self, gen_id: str) -> Generation:
        info = json.loads((self._gen_dir(gen_id) / "generation.json").read_text())
        return Generation(gen_id, self._client(gen_id), self._names(gen_id), info,
                          self.cache_dir(gen_id), self.settings.store.cached_records,
                          release=self._release_client)

    def _writer_client(self, gen_id: str) -> Any:
        self._gen_dir(gen_id).mkdir(parents=True)
        return self._client(gen_id)

    def _reopen(self, gen_id: str, client: Any) -> Any:
        client.close()
        return self._client(gen_id)

    def _release_client(self, client: Any) -> None:
        client.close()  # its files are about to be deleted

    def publish(self, writer: GenerationWriter, info: dict[str, Any]) -> Generation:
        gen_dir = self._gen_dir(writer.gen_id)
        atomic_write(gen_dir / "generation.json", json.dumps(info, indent=2))
        self._point_to(writer.gen_id, info)
        self._prune(keep=writer.gen_id)
        return self.current(force=True)

    def _point_to(self, gen_id: str, info: dict[str, Any]) -> None:
        atomic_write(self.root / "CURRENT", gen_id)

    def _info(self, gen_id: str) -> dict[str, Any] | None:
        try:
            return json.loads((self._gen_dir(gen_id) / "generation.json").read_text())
        except (FileNotFoundError, ValueError):
            return None

    def _acquire(self, wait: float) -> Any:
        from filelock import FileLock, Timeout

        lock = FileLock(str(self.root / "writer.lock"))
        try:
            lock.acquire(timeout=wait)
        except Timeout as exc:
            raise StoreError(f"another ingest or rollback holds {self.root / 'writer.lock'}; "
                             "try again when it ends") from exc
        return lock

    def _release(self, holder: Any) -> None:
        holder.release()

    def discard(self, gen_id: str) -> None:
        shutil.rmtree(self._gen_dir(gen_id), ignore_errors=True)

    def generations(self) -> list[str]:
        return sorted(p.name[4:] for p in self.root.glob("gen-*")
                      if (p / "generation.json").exists())

    def _prune(self, keep: str) -> None:
        """Delete generations beyond ``keep_generations`` and unfinished ones left by a crash."""
        published = self.generations()
        keep_ids = set(published[-self.settings.store.keep_generations:]) | {keep}
        for path in self.root.glob("gen-*"):
            gen_id = path.name[4:]
            if gen_id not in keep_ids and gen_id < keep:
                shutil.rmtree(path, ignore_errors=True)


def atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
