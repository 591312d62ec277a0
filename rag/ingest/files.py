"""Which files an ingest reads, under which names, and which indexed documents it answers for."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.errors import NoDocumentsError

log = logging.getLogger(__name__)


SYSTEM_ROOTS = (Path("/proc"), Path("/sys"), Path("/dev"))


def refusal(path: Path, root: Path | None) -> str | None:
    """Why `path` must not be read (a link leaving `root`, /proc, a device), or None.

    A link is followed only to where it really points: `ln -s /etc/passwd docs/x.txt` must not
    put the password file (or /proc/self/environ, with its API keys) into the index.
    """
    try:
        real = path.resolve(strict=True)
        mode = real.stat().st_mode
    except (OSError, RuntimeError) as err:  # a dangling link, a loop
        return f"unreadable: {getattr(err, 'strerror', None) or err}"
    if not stat.S_ISREG(mode):
        return "not a regular file (a device, pipe, socket or folder)"
    if any(real.is_relative_to(system) for system in SYSTEM_ROOTS):
        return f"a system file ({real}), never indexed"
    if root is not None and not real.is_relative_to(root):
        return f"a link to {real}, outside the documents folder"
    return None


def from_elsewhere(entry: dict[str, Any], docs: Path) -> Path | None:
    """The file a document was added from by `rag ingest PATH`, when outside the documents
    folder `docs` (resolved); None for a document of the documents folder. The manifest records
    a folder's file relative to it (on every host, wherever that host has the folder), another
    file by its whole path; a file inside the folder recorded whole (as the release before did)
    and a document with no record (from before files were recorded) count as the folder's."""
    path = entry.get("path")
    if path is None or not Path(path).is_absolute() or Path(path).is_relative_to(docs):
        return None
    return Path(path)


@dataclass(frozen=True)
class Scope:
    """What one ingest looks at, and which indexed documents it answers for. A plain ingest
    answers for the documents folder's documents: new and changed files are indexed, and those
    whose file vanished go. A document added by PATH from elsewhere is never its to replace or
    remove, and its file is never looked for (it may be on another host). A PATH ingest answers
    for the documents that came from a given file or from under a given folder."""

    docs: Path  # the documents folder, resolved
    files: frozenset[Path] = frozenset()
    folders: tuple[Path, ...] = ()
    plain: bool = True

    def covers(self, origin: Path) -> bool:
        """Whether a document indexed from `origin` goes if this ingest did not find it."""
        if self.plain:
            return origin.is_relative_to(self.docs)
        return origin in self.files or any(origin.is_relative_to(f) for f in self.folders)

    def origin(self, source: str, entry: dict[str, Any]) -> Path:
        """The file a document was indexed from (one of the documents folder: where this
        host's folder has it)."""
        return from_elsewhere(entry, self.docs) or self.docs / source

    def recorded(self, origin: Path) -> str:
        """How the manifest records a file: relative to the documents folder, if inside it."""
        inside = origin.is_relative_to(self.docs)
        return origin.relative_to(self.docs).as_posix() if inside else str(origin)

    def name_holder(self, source: str, entry: dict[str, Any], found: set[Path]) -> Path | None:
        """The file of the indexed document `entry` if it keeps its name `source` against a
        file of this ingest, else None. Only the ingest that answers for a document looks for
        its file, which may be on another host: a plain ingest never takes a name from a
        document added from elsewhere, nor a PATH ingest from one on record as the documents
        folder's; a PATH ingest takes it from another document once its file is gone (also
        from one with no record, so that re-ingesting files records them)."""
        holder = self.origin(source, entry)
        if holder in found:
            return None
        if self.plain:
            return None if holder.is_relative_to(self.docs) else holder
        if holder.is_relative_to(self.docs) and "path" in entry:
            return holder
        return holder if holder.exists() else None


@dataclass
class FoundFiles:
    """(source name, path as reached, where it really is) of every file to consider, the files
    refused, with why, and the scope they were looked for in."""

    files: list[tuple[str, Path, Path]]
    refused: list[dict[str, str]]
    scope: Scope


def located(path: Path) -> Path:
    """`path` made absolute through its real folder; a link keeps its own name."""
    return Path(os.path.abspath(path)).parent.resolve() / path.name


def find_files(docs_dir: Path, paths: Iterable[Path] | None = None) -> FoundFiles:
    """Every non-hidden file under `paths` (default: the documents folder), sorted by name.

    A file inside the documents folder is named by its path relative to that folder, however
    it was reached, so `rag ingest docs/a/x.md` and a plain `rag ingest` agree; another file is
    named relative to the folder PATH it was found under, or by its own name if it was given.
    A second file with a name already taken in this run is refused: it would overwrite the first.
    """
    docs = docs_dir.resolve()
    roots = [docs_dir] if paths is None else [Path(p) for p in paths]
    for root in roots:
        if not root.exists() and not root.is_symlink():
            given = "" if paths is None else " (nothing was indexed or removed)"
            raise NoDocumentsError(f"no such file or folder: {root}{given}")
    found: dict[str, tuple[Path, Path]] = {}
    origins: set[Path] = set()
    refused: list[dict[str, str]] = []
    files: set[Path] = set()
    folders: list[Path] = []

    def consider(path: Path, origin: Path, base: Path | None) -> None:
        if origin in origins:
            return  # the same file reached twice (a file and its folder): indexed once
        if origin.is_relative_to(docs):
            base = docs  # links that leave the documents folder are refused, as in a plain ingest
        name = origin.relative_to(base).as_posix() if base else origin.name
        reason = refusal(path, base)  # named on purpose (no base): only /proc and devices refused
        if reason is None and name in found:
            reason = (
                f"another file in this ingest, {found[name][0]}, has its name '{name}': rename "
                "one, or ingest a folder that holds both (names are relative to it)"
            )
        if reason is None and base == docs and any(p.startswith(".") for p in name.split("/")):
            reason = "hidden in the documents folder: a plain `rag ingest` leaves it out"
        if reason is None:
            found[name] = (path, origin)
            origins.add(origin)
        else:
            log.warning("skipping %s: %s", path, reason)
            refused.append({"path": str(path), "reason": reason})

    for root in roots:
        if not root.is_dir():
            files.add(located(root))
            consider(root, located(root), None)
            continue
        real_root = root.resolve()
        folders.append(real_root)
        for path in visible_entries(root):
            consider(path, real_root / path.relative_to(root), real_root)
    scope = Scope(docs, frozenset(files), tuple(folders), plain=paths is None)
    return FoundFiles([(n, *found[n]) for n in sorted(found)], refused, scope)


def visible_entries(root: Path) -> list[Path]:
    """Every non-hidden file (and link) under `root`, sorted. Hidden folders are never entered,
    links to folders are listed but not followed, and a folder that vanishes while it is listed
    (an upload's staging folder, removed by another request) is passed over, not an error."""
    entries: list[Path] = []
    for folder, dirs, files in os.walk(root, onerror=lambda err: None):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        base = Path(folder)
        entries += [base / f for f in files if not f.startswith(".")]
        entries += [base / d for d in dirs if (base / d).is_symlink()]
    return sorted(entries)
