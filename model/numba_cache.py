"""Point numba's on-disk cache at a directory keyed by the source of the compiled kernels.

Numba invalidates a cached kernel only when the file that *defines* it changes, not when a
kernel it calls from another module changes: after an edit to ``agents/hedge_funds.py`` the
cached clearing kernels in ``model/clearing.py`` would still run the old fund rules. Keying the
cache directory by a hash of every ``model/`` and ``agents/`` source file makes an edit anywhere
give a fresh cache (one compile) and never a stale kernel.

The base directory is ``$NUMBA_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/carry-unwind/numba``
(``~/.cache/...``). This module imports nothing heavy and must run before numba decorates
anything; both package ``__init__`` files call :func:`configure`.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]
_DONE = False


# Folders under the packages that hold what commands *wrote*, not what defines a result: the calibration
# records (``experiments/calibration/results/``, cited by the model's docstrings, never read by it).
OUTPUT_FOLDERS = (("experiments", "calibration", "results"),)
# Markers of a command's output folder: a sweep (its manifest, or its design, which it writes first: a
# sweep stopped before its manifest leaves its design and specification), a run (its completion marker),
# a checkpoint (its settings). A folder holding one is skipped whole, as is a ``*.checkpoint`` folder.
OUTPUT_MARKERS = ("manifest.json", "design.parquet", "complete", "settings.json")


def source_hash(
    packages: tuple[str, ...] = ("model", "agents"),
    suffixes: tuple[str, ...] = (".py",),
    recursive: bool = False,
    skip: tuple[tuple[str, ...], ...] = (),
) -> str:
    """A hash of the files with these ``suffixes`` in the project's ``packages`` (their names and contents).

    The default, the compiled kernels' source (``model/*.py``, ``agents/*.py``), keys the numba
    cache. ``recursive`` takes sub-packages too (names then relative to the project), skipping
    hidden files and directories (a writer's ``.tmp-*`` files among them), ``__pycache__``, and the
    outputs of commands that may be written under a package: :data:`OUTPUT_FOLDERS`, ``*.checkpoint``
    folders and any folder holding one of :data:`OUTPUT_MARKERS` (a sweep, a run, a checkpoint).
    The hash thus covers code and the files that define behaviour (scenarios, configurations), not
    results a command wrote there. ``skip``: folders (their parts, relative to the project, such as
    ``("experiments", "specs")``) left out whole, whatever they hold.
    """
    h = hashlib.sha1()
    outputs: dict[Path, bool] = {}
    for package in packages:
        root = _ROOT / package
        found = root.rglob("*") if recursive else root.glob("*")
        for path in sorted(found):
            inside = path.relative_to(root).parts
            if path.suffix not in suffixes or any(p.startswith(".") or p == "__pycache__" for p in inside):
                continue
            if skip and any((package, *inside)[: len(folder)] == folder for folder in skip):
                continue
            if recursive and path.suffix != ".py" and _is_output(path, root, outputs):  # code always counts
                continue
            if not path.is_file():
                continue
            h.update((str(path.relative_to(_ROOT)) if recursive else path.name).encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:12]


def is_output(path: Path) -> bool:
    """Whether ``path``, a file in one of the project's packages, lies in a command's output folder
    (:data:`OUTPUT_FOLDERS`, a ``*.checkpoint`` folder, or one holding one of :data:`OUTPUT_MARKERS`)."""
    rel = path.relative_to(_ROOT).parts
    return _is_output(path, _ROOT / rel[0], {}) if len(rel) > 1 else False


def _is_output(path: Path, root: Path, seen: dict[Path, bool]) -> bool:
    """Whether ``path`` lies in a command's output folder under ``root`` (see :func:`source_hash`)."""
    rel = path.relative_to(_ROOT).parts
    if any(rel[: len(folder)] == folder for folder in OUTPUT_FOLDERS):
        return True
    folder = path.parent
    while folder != root and root in folder.parents:
        if folder not in seen:  # a package (with __init__.py) is code, whatever files it holds
            seen[folder] = not (folder / "__init__.py").is_file() and (
                folder.name.endswith(".checkpoint") or any((folder / marker).is_file() for marker in OUTPUT_MARKERS)
            )
        if seen[folder]:
            return True
        folder = folder.parent
    return False


class CacheDamaged(RuntimeError):
    """numba's on-disk cache could not be read back; the message says which folder to delete."""


def raise_if_damaged(exc: BaseException) -> None:
    """Raise :class:`CacheDamaged` (one line naming the folder to delete) if ``exc`` came from reading
    numba's damaged cache (:func:`damage_message`): a broken environment, not a failure of the run that
    met it. Returns otherwise, for the caller to handle ``exc`` as its own."""
    if isinstance(exc, CacheDamaged):
        raise exc
    damaged = damage_message(exc)
    if damaged is not None:
        raise CacheDamaged(damaged) from None


def damage_message(exc: BaseException) -> str | None:
    """One line saying that numba's cache of compiled kernels is damaged and which folder to delete, if
    ``exc`` was raised while numba read that cache (a truncated index: ``UnpicklingError``, ``EOFError``);
    None for any other error.

    Recognised by the frames of its traceback (numba's ``caching.py``), or, for an error that crossed a
    process boundary, by the text of the worker's traceback that ``concurrent.futures`` attaches.
    """
    import traceback

    marker = os.path.join("numba", "core", "caching.py")
    seen: set[int] = set()
    err: BaseException | None = exc
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if isinstance(err, CacheDamaged):
            return str(err)
        if any(f.filename.endswith(marker) for f in traceback.extract_tb(err.__traceback__)):
            break  # raised here, in numba's caching
        if marker in str(err):  # the text of a worker's traceback: the error is the one it is attached to
            err = exc
            break
        err = err.__cause__ or err.__context__
    else:
        return None
    if isinstance(err, OSError):  # a full disk or a permission while numba wrote or read: not damage
        return None
    folder = os.environ.get("NUMBA_CACHE_DIR") or str(getattr(sys.modules.get("numba.core.config"), "CACHE_DIR", ""))
    reason = " ".join(f"{type(err).__name__}: {err}".split())[:200]
    where = f"in {folder} " if folder else ""
    return (
        f"numba's cache of compiled kernels {where}cannot be read ({reason}); it is damaged: delete "
        f"{'that folder' if folder else 'numba cache folder (NUMBA_CACHE_DIR)'} and run the command again "
        "(the kernels are compiled afresh)"
    )


def configure() -> None:
    global _DONE
    if _DONE:
        return
    _DONE = True
    base = os.environ.get("CARRY_UNWIND_NUMBA_BASE") or os.environ.get("NUMBA_CACHE_DIR")
    if not base:
        xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        base = str(Path(xdg) / "carry-unwind" / "numba")
    # remember the base so that child processes (which inherit NUMBA_CACHE_DIR) key it afresh
    os.environ["CARRY_UNWIND_NUMBA_BASE"] = base
    cache_dir = str(Path(base) / f"src-{source_hash()}")
    os.environ["NUMBA_CACHE_DIR"] = cache_dir
    if "numba" in sys.modules:  # numba already imported: set its config directly
        sys.modules["numba"].config.CACHE_DIR = cache_dir
