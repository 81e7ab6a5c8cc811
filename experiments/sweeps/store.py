"""A sweep's output directory: layout, lock, manifest, atomic part files (see :mod:`experiments.sweeps`)."""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from experiments import runner
from experiments.runner import fingerprint_difference, fsync_dir
from experiments.sweeps.designs import design_table, spec_scenario
from experiments.sweeps.spec import FORMAT, STATUS_ERROR, STATUS_OK, SpecError, SweepError, SweepSpec, spec_to_toml

__all__ = [
    "SPEC_FILE",
    "MANIFEST_FILE",
    "DESIGN_FILE",
    "RUNS_DIR",
    "TIMESERIES_DIR",
    "LOCK_FILE",
    "SweepStore",
    "result_schema",
    "part_files",
    "read_part",
    "load_manifest",
    "manifest_spec",
    "load_design",
    "check_unique_runs",
    "same_design",
    "code_identity",
    "now",
]

log = logging.getLogger(__name__)


SPEC_FILE = "spec.toml"
MANIFEST_FILE = "manifest.json"
DESIGN_FILE = "design.parquet"
RUNS_DIR = "runs"
TIMESERIES_DIR = "timeseries"
LOCK_FILE = ".sweep.lock"
SESSION_RUNNING = "running"  # a session's outcome in the manifest until it records how it ended


def result_schema(spec: SweepSpec) -> Any:
    """The Arrow schema of the result rows: the same for every part file of a sweep."""
    import pyarrow as pa

    types = {"float": pa.float64(), "int": pa.int64(), "bool": pa.bool_(), "str": pa.string()}
    return pa.schema(
        [
            ("run_id", pa.string()),
            ("point", pa.int64()),
            ("replicate", pa.int64()),
            ("seed", pa.int64()),
            *[(p.name, types[p.kind]) for p in spec.parameters],
            *[(m, pa.float64()) for m in spec.metrics],
            ("status", pa.string()),
            ("error", pa.string()),
            ("version", pa.string()),
        ]
    )


# Every file of the directory is written through experiments.runner.atomic_write, looked up at each call (not
# imported by name): a test that replaces it there sees every path the sweep writes.


def _write_json(path: Path, data: Any) -> None:
    text = json.dumps(data, indent=2, allow_nan=False) + "\n"
    runner.atomic_write(path, lambda f: f.write(text.encode()))


def load_manifest(out_dir: str | Path) -> dict[str, Any]:
    """``DIR/manifest.json`` as a dict (raises SpecError if DIR holds no sweep)."""
    path = Path(out_dir) / MANIFEST_FILE
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SpecError(f"{out_dir} holds no sweep (no {MANIFEST_FILE})") from None
    except OSError as exc:
        raise SpecError(f"{path}: cannot read the sweep's manifest: {exc.strerror or exc}") from None
    from model.validation import parse_json

    manifest = parse_json(data, lambda problem: SpecError(f"{path}: cannot read the sweep's manifest: {problem}"))
    if not isinstance(manifest, dict):
        raise SpecError(f"{path}: the sweep's manifest must be a JSON object, got {type(manifest).__name__}")
    _check_manifest(manifest, path)
    return manifest


# what every reader of a manifest relies on: the entries carry-unwind sweep writes before its first run
_MANIFEST_KEYS = {
    "spec": "the sweep's specification, an object",
    "n_points": "the design's point count, an integer >= 0",
    "n_runs": "the sweep's run count, an integer >= 0",
}


def _check_manifest(manifest: dict[str, Any], path: Path) -> None:
    """Refuse a manifest without the entries its readers use, or with one of the wrong type: one line naming
    the file and the entry (it was edited, or is not a sweep's)."""
    from model.validation import shown

    def refuse(problem: str) -> SpecError:
        return SpecError(
            f"{path}: the sweep's manifest {problem}; it was edited or is not a sweep's: start the sweep again "
            "with another --out"
        )

    for key, what in _MANIFEST_KEYS.items():
        if key not in manifest:
            raise refuse(f"has no {key!r} ({what})")
        value = manifest[key]
        if key == "spec":
            ok = isinstance(value, dict)
        else:
            ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
        if not ok:
            raise refuse(f"has {key} = {shown(value)}, which is not allowed; expected {what}")
    sessions = manifest.get("sessions", [])
    if not isinstance(sessions, list) or not all(isinstance(s, dict) for s in sessions):
        raise refuse(f"has sessions = {shown(sessions)}, which is not allowed; expected a list of objects")


def manifest_spec(out_dir: str | Path, manifest: Mapping[str, Any] | None = None) -> SweepSpec:
    """The specification recorded in ``DIR/manifest.json`` (``manifest``: the manifest, read already); a
    :class:`SpecError` naming the file if it cannot be read back (an entry missing or of the wrong type) or
    is not the one the sweep started with: its digest must be the manifest's ``spec_sha256``, so that an
    edited specification (``samples = "8"``, no metrics, a parameter without its range) is refused here,
    not met as a traceback or a wrong count by its readers."""
    if manifest is None:
        manifest = load_manifest(out_dir)
    try:
        spec = SweepSpec.from_dict(manifest["spec"])
        if spec.digest() == manifest.get("spec_sha256"):
            return spec
        problem = "is not the one the sweep started with (its digest is not the manifest's spec_sha256)"
    except KeyError as exc:
        problem = f"has no {exc.args[0]!r}"
    except (TypeError, ValueError, AttributeError, IndexError, AssertionError) as exc:
        problem = f"cannot be read ({' '.join(str(exc).split()) or type(exc).__name__})"
    raise SpecError(
        f"{Path(out_dir) / MANIFEST_FILE}: the specification in the sweep's manifest {problem}; it was edited or "
        "is not a sweep's: start the sweep again with another --out"
    )


def load_design(out_dir: str | Path) -> Any:
    """``DIR/design.parquet``: the design points, one row per point."""
    return read_part(Path(out_dir) / DESIGN_FILE).to_pandas()


def part_files(out: Path) -> list[Path]:
    return sorted((out / RUNS_DIR).glob("part-*.parquet"))


def read_part(path: Path, **kwargs: Any) -> Any:
    """One part file as a pyarrow Table; a :class:`SpecError` naming it if it is damaged.

    The sweep writes part files atomically, so a damaged one comes from outside (a disk error,
    a copy cut short, an edit): the message says which file, and how to get its runs again.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.read_table(path, **kwargs)
    except (pa.ArrowException, OSError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if path.name == DESIGN_FILE:  # the design cannot be rebuilt safely in place
            raise SpecError(
                f"{path} is not a readable parquet file ({reason}); the sweep in {path.parent} cannot be "
                "continued: start it again with another --out"
            ) from None
        raise SpecError(
            f"{path} is not a readable result file ({reason}); "
            f"remove it and continue with 'carry-unwind sweep SPEC --out {path.parent.parent} --resume', "
            "which runs its runs again"
        ) from None


class SweepStore:
    """The output directory: layout, lock, manifest, part files (see the module docstring)."""

    def __init__(self, out: Path, spec: SweepSpec) -> None:
        self.out = out
        self.spec = spec
        self.runs = out / RUNS_DIR
        self.schema = result_schema(spec)
        self.session_id = uuid.uuid4().hex[:10]
        self._seq = 0

    def check_target(self) -> None:
        """Refuse an output directory that holds files of something other than a sweep (before anything is
        written there): a sweep goes into a new or empty directory, or its own.

        Without a manifest, only what a sweep that was stopped before writing its manifest leaves is its
        own: the lock, an empty ``runs/``, the design and, after it, the specification (a ``spec.toml``
        alone may be the user's and would be overwritten).
        """
        if not self.out.is_dir() or (self.out / MANIFEST_FILE).exists() or part_files(self.out):
            return  # a sweep's own, or result files without a manifest (prepare says so)
        names = {p.name for p in self.out.iterdir() if not p.name.startswith(".tmp-")} - {LOCK_FILE}
        if RUNS_DIR in names and (self.runs.is_dir() and not any(self.runs.iterdir())):
            names.discard(RUNS_DIR)
        if names <= {DESIGN_FILE, SPEC_FILE} and (DESIGN_FILE in names or not names):
            return
        shown = ", ".join(sorted(names)[:3]) + (", ..." if len(names) > 3 else "")
        raise SpecError(
            f"--out = {str(self.out)!r} is not allowed; it holds files that are not a sweep ({shown}), expected a "
            "new or empty directory, or a sweep's own"
        )

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        self.out.mkdir(parents=True, exist_ok=True)
        try:
            import fcntl
        except ImportError:  # not POSIX: no lock
            yield
            return
        with open(self.out / LOCK_FILE, "a+") as f:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise SweepError(f"another sweep is writing to {self.out}; wait for it to finish") from None
            try:
                yield
            finally:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)

    def prepare(self, spec_text: str | None, resume: bool) -> tuple[Any, dict[str, Any]]:
        """Create the directory's files, or check that they belong to this spec; returns (design, manifest)."""
        manifest_path = self.out / MANIFEST_FILE
        leftovers = (folder.glob(".tmp-*") for folder in (self.out, self.runs, self.out / TIMESERIES_DIR))
        for tmp in itertools.chain.from_iterable(leftovers):
            tmp.unlink(missing_ok=True)  # left by a writer that was killed mid-write
        if manifest_path.exists():
            manifest = load_manifest(self.out)
            manifest_spec(self.out, manifest)  # its specification must read back, as the loaders read it
            done = len(self.done_ids())
            if not resume:
                raise SpecError(
                    f"{self.out} already holds a sweep ({done} of {manifest['n_runs']} runs done); "
                    "pass --resume to continue it, or choose another --out"
                )
            if manifest.get("spec_sha256") != self.spec.digest():
                diff = _spec_diff(manifest["spec"], self.spec.to_dict())
                raise SpecError(
                    f"the specification differs from the sweep in {self.out} ({diff}); "
                    "resume it with the specification it was started with, or choose another --out"
                )
            code = code_identity()["code_fingerprint"]
            if manifest.get("code_fingerprint") != code:
                diff = _code_diff(manifest.get("code_fingerprint"), code)
                raise SpecError(
                    f"the code differs from the code that ran the sweep in {self.out} ({diff}); its runs are not "
                    "mixed with runs of other code: start the sweep again with another --out"
                )
            design = load_design(self.out)
            fresh = design_table(self.spec)
            if not same_design(fresh, design):
                log.warning(
                    "the design generated now differs from the stored one (library upgrade?); using the stored design"
                )
                # its points were checked when the sweep started, by the code of then: checked again, before any run
                from experiments.sweeps.parsing import check_design

                check_design(self.spec, design, spec_scenario(self.spec.to_dict()), str(self.out / DESIGN_FILE))
            return design, manifest
        if part_files(self.out):
            raise SpecError(f"{self.out} holds result files but no {MANIFEST_FILE}; choose another --out")
        if resume:
            log.info("nothing to resume in %s: starting the sweep", self.out)
        from model.results import git_commit, git_dirty

        commit = git_commit()
        # the code's identity before anything is written: a sweep under a package (experiments/...) is
        # skipped by the fingerprint once its manifest is there, and its spec.toml must not count before
        identity = code_identity()
        self.runs.mkdir(parents=True, exist_ok=True)
        design = design_table(self.spec)
        runner.atomic_write(self.out / DESIGN_FILE, lambda f: design.to_parquet(f, engine="pyarrow", index=False))
        text = spec_text if spec_text is not None else spec_to_toml(self.spec)
        runner.atomic_write(self.out / SPEC_FILE, lambda f: f.write(text.encode()))
        manifest = {
            "format": FORMAT,
            "name": self.spec.name,
            "spec_sha256": self.spec.digest(),
            "spec": self.spec.to_dict(),
            "design": self.spec.design,
            "parameters": self.spec.names,
            "metrics": list(self.spec.metrics),
            "n_points": len(design),
            "replicates": self.spec.replicates,
            "seeds": self.spec.seeds,
            "n_runs": len(design) * self.spec.replicates,
            **identity,
            "git_commit": commit,
            "git_dirty": git_dirty() if commit else None,  # uncommitted changes: the commit alone does not say the code
            "created": now(),
            "sessions": [],
        }
        _write_json(manifest_path, manifest)
        return design, manifest

    def read_status(self) -> Any:
        """``run_id`` and ``status`` of every recorded row (a pandas DataFrame); a :class:`SpecError` naming the
        part files if a run is recorded twice (:func:`check_unique_runs`)."""
        import pyarrow as pa

        parts = part_files(self.out)
        if not parts:
            return pa.table({"run_id": pa.array([], pa.string()), "status": pa.array([], pa.string())}).to_pandas()
        tables = [read_part(p, columns=["run_id", "status"]) for p in parts]
        check_unique_runs(self.out, parts, tables)
        return pa.concat_tables(tables).to_pandas()

    def check_runs(self, run_ids: set[str]) -> None:
        """Refuse (:class:`SpecError`) a recorded row that is not one of this sweep's runs (``run_ids``): a part
        file of another sweep copied into ``runs/`` would be counted as done, and mixed into the results."""
        for part in part_files(self.out):
            ids = read_part(part, columns=["run_id"])["run_id"].to_pylist()
            foreign = next((rid for rid in ids if rid not in run_ids), None)
            if foreign is not None:
                raise SpecError(
                    f"{part}: run {foreign} is not a run of the sweep in {self.out} (a part file of another sweep?); "
                    "remove the file, then resume"
                )

    def done_ids(self) -> set[str]:
        return set(self.read_status()["run_id"])

    def drop_errors(self) -> int:
        """Remove the error rows (each part file rewritten atomically), so their runs run again."""
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        dropped = 0
        for part in part_files(self.out):
            table = read_part(part)
            keep = pc.equal(table["status"], STATUS_OK)
            n_keep = pc.sum(keep).as_py() or 0
            if n_keep == table.num_rows:
                continue
            dropped += table.num_rows - n_keep
            if n_keep == 0:
                part.unlink()
                fsync_dir(part.parent)
            else:
                kept = table.filter(keep)
                runner.atomic_write(part, lambda f, t=kept: pq.write_table(t, f))
        return dropped

    def write_rows(self, rows: list[dict[str, Any]]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pylist(rows, schema=self.schema)
        self._seq += 1
        path = self.runs / f"part-{self.session_id}-{self._seq:06d}.parquet"
        runner.atomic_write(path, lambda f: pq.write_table(table, f))

    def write_timeseries(self, rid: str, df: Any) -> None:
        folder = self.out / TIMESERIES_DIR
        folder.mkdir(exist_ok=True)
        runner.atomic_write(folder / f"{rid}.parquet", lambda f: df.to_parquet(f, engine="pyarrow", index=False))

    def begin_session(self, session: dict[str, Any]) -> None:
        """Record this session in the manifest as running, before any run: a session killed outright (a
        SIGKILL, a machine lost) then still shows there. An earlier session still marked running ended
        without recording its end: it is marked ``killed``, with the rows its part files hold now."""
        manifest = load_manifest(self.out)
        sessions = []
        for earlier in manifest.get("sessions", []):
            if earlier.get("outcome") == SESSION_RUNNING:
                earlier = {**earlier, "outcome": "killed", "runs_written": self._rows_written_by(earlier["id"])}
            sessions.append(earlier)
        manifest["sessions"] = [*sessions, {**session, "outcome": SESSION_RUNNING}]
        _write_json(self.out / MANIFEST_FILE, manifest)

    def _rows_written_by(self, session_id: str) -> int:
        """Rows in the part files a session wrote (named after it), as they are now."""
        import pyarrow.parquet as pq

        return sum(pq.ParquetFile(p).metadata.num_rows for p in part_files(self.out)
                   if p.name.startswith(f"part-{session_id}-"))  # fmt: skip

    def record_session(self, session: dict[str, Any], interrupted: bool) -> dict[str, Any]:
        """Record how this session ended (in place of its 'running' record) and the run counts."""
        manifest = load_manifest(self.out)
        status = self.read_status()
        complete = len(status) == manifest["n_runs"]
        session["outcome"] = "interrupted" if interrupted else ("complete" if complete else "incomplete")
        earlier = [s for s in manifest.get("sessions", []) if s.get("id") != session["id"]]
        manifest["sessions"] = [*earlier, session]
        manifest["runs_done"] = len(status)
        manifest["runs_ok"] = int((status["status"] == STATUS_OK).sum())
        manifest["runs_error"] = int((status["status"] == STATUS_ERROR).sum())
        manifest["complete"] = complete
        _write_json(self.out / MANIFEST_FILE, manifest)
        return manifest


def check_unique_runs(out: Path, parts: list[Path], tables: list[Any]) -> None:
    """Refuse (:class:`SpecError`) results in which a run is recorded more than once: the sweep writes each
    run once, so a repeated run id means a part file copied in twice (or edited). The message names the
    files that hold it. ``tables``: each part file's rows (pyarrow tables with a ``run_id`` column)."""
    import pandas as pd
    import pyarrow as pa

    if not tables:
        return
    ids = pa.concat_tables([t.select(["run_id"]) for t in tables])["run_id"].to_pandas()
    repeated = ids[ids.duplicated()]
    if repeated.empty:
        return
    rid = repeated.iloc[0]
    holders = [(p, int(pd.Series(t["run_id"].to_pylist()).eq(rid).sum())) for p, t in zip(parts, tables, strict=True)]
    holders = [(p, n) for p, n in holders if n]
    if len(holders) == 1:
        where = f"{holders[0][1]} times in {RUNS_DIR}/{holders[0][0].name} (an edited file? remove it and resume)"
    else:
        names = " and ".join(f"{RUNS_DIR}/{p.name}" for p, _ in holders[:2])
        where = f"in {names}{' and more' if len(holders) > 2 else ''} (a part file copied in twice? remove the copy)"
    raise SpecError(f"{out}: run {rid}, {where}, is recorded more than once")


def code_identity() -> dict[str, str]:
    """The package version and the fingerprint of the code a run depends on.

    ``code_fingerprint`` is :func:`experiments.runner.code_fingerprint`, the key of the resumable
    commands' checkpoints: the package version, a hash of the ``.py``, ``.toml`` and ``.json`` files of
    ``model/`` (built-in scenarios included), ``agents/`` and ``experiments/`` (metrics included; not the
    example sweep specifications of ``experiments/specs/``: a sweep's own specification is in its digest),
    and the versions of Python and of the libraries results depend on (NumPy, SciPy, numba, pandas, Mesa,
    pyarrow). ``source_hash`` is that file hash alone. A sweep is resumed only by the code with the
    fingerprint recorded in its manifest.
    """
    from experiments.runner import code_fingerprint
    from model import __version__

    fingerprint = code_fingerprint()
    return {"version": __version__, "source_hash": fingerprint.split()[1], "code_fingerprint": fingerprint}


def same_design(a: Any, b: Any) -> bool:
    """Whether two design tables hold the same points: the same columns and values, exactly, whatever their
    dtypes (a text column reads back from parquet as pandas' string dtype, while the design is made as
    ``object``: equal values, and the design has not changed)."""
    import pandas as pd

    try:
        pd.testing.assert_frame_equal(a, b, check_dtype=False, check_exact=True, check_index_type=False)
    except AssertionError:
        return False
    return True


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def _code_diff(old: str | None, new: str) -> str:
    """How two code fingerprints differ, in words: "source hash 1a2b there, 3c4d here; numpy 2.0 there, ..."."""
    if not old:
        return "the sweep was started by a version that did not record its code fingerprint"
    return fingerprint_difference(old, new)


def _spec_diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    keys = [k for k in sorted(set(old) | set(new)) if k not in ("name", "description") and old.get(k) != new.get(k)]
    shown = []
    for k in keys[:3]:
        a, b = old.get(k), new.get(k)
        if k == "scenario_text":
            shown.append("the scenario file's contents")
        elif k == "parameters" and isinstance(a, list) and isinstance(b, list):
            shown.append(_parameters_diff(a, b))
        else:
            shown.append(f"{k}: {_short(a)} there, {_short(b)} here")
    return "; ".join(shown) + ("; ..." if len(keys) > 3 else "")


def _short(value: Any, limit: int = 60) -> str:
    """``value`` as JSON, cut at a whole character with an ellipsis where it is longer than ``limit``."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _parameters_diff(old: list, new: list) -> str:
    """The varied parameters that differ, each by name and the fields that differ (``lo 1 there, 2 here``)."""
    by_name = lambda entries: {e.get("name"): e for e in entries if isinstance(e, dict)}  # noqa: E731
    a, b = by_name(old), by_name(new)
    parts = [f"parameter {n} only there" for n in a if n not in b]
    parts += [f"parameter {n} only here" for n in b if n not in a]
    for n in (n for n in a if n in b and a[n] != b[n]):
        fields = [f"{f} {_short(a[n].get(f), 30)} there, {_short(b[n].get(f), 30)} here"
                  for f in sorted(set(a[n]) | set(b[n])) if a[n].get(f) != b[n].get(f)]  # fmt: skip
        parts.append(f"parameter {n}: {', '.join(fields)}")
    if not parts:  # the same parameters in another order
        parts.append("the parameters' order")
    return "parameters: " + "; ".join(parts)
