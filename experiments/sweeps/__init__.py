"""Parameter sweeps: specifications, designs, execution on processes or Dask, resumable storage.

A sweep is described by a TOML specification (examples in ``experiments/specs/``)::

    [sweep]
    scenario = "risk_off"          # built-in name, or a scenario .toml path (relative to this file)
    days = 250                     # horizon of every run, trading days
    design = "grid"                # grid | lhs | sobol | saltelli | morris
    replicates = 4                 # runs per design point, with common random numbers
    base_seed = 1                  # replicate r runs with seed replicate_seed(base_seed, r)
    metrics = ["usdjpy_max_fall_pct", "hf_failures_total"]   # default: all of experiments.analysis.metrics.METRICS
    timeseries = false             # also keep every run's full time series

    [fixed]                        # applied to every run
    hedge_funds.n_funds = 200

    [parameters]                   # what varies: dotted section.field names of the configuration
    hedge_funds.max_leverage = { values = [2.0, 5.0, 10.0, 20.0] }
    hedge_funds.trend_share = { range = [0.0, 0.5], num = 3 }        # num: grid points of a range
    dealers.fx_capacity_usd_bn = { range = [100.0, 1600.0], num = 3, log = true }   # spaced in log10

Designs (``[sweep] design``):

``grid``
    The full factorial product of every parameter's ``values`` (or ``num`` points spread over its
    ``range``); the last parameter varies fastest.
``lhs``, ``sobol``
    ``samples`` points of a Latin hypercube or a scrambled Sobol' sequence (``scipy.stats.qmc``;
    ``samples`` a power of two for Sobol'), scrambled with ``design_seed``. A ``values`` list is
    sampled as a discrete uniform choice.
``saltelli``
    SALib's Sobol'-index design (``SALib.sample.sobol``, Saltelli's scheme): ``samples`` = N (a
    power of two) gives N·(D+2) points, or N·(2D+2) with ``second_order = true``.
``morris``
    SALib's Morris design: ``samples`` trajectories on a grid of ``levels`` levels, N·(D+1) points.

The last two are what ``carry-unwind sensitivity`` analyses (:mod:`experiments.analysis.sensitivity`).
A range with ``log = true`` is sampled uniformly in log10; an integer field is rounded (its range must
hold two integers at least, and in a Morris design every level must be an integer: ``levels``, an
even number from 2 to 100, with ``hi - lo`` divisible by ``levels - 1``). Every value is checked
against its field's own range, and then every point of the design against the whole configuration
(a floor at most the reserves, say), before anything runs: a combination the design never runs is
never refused.

Randomness and identity. Every design point runs ``replicates`` times, replicate ``r`` with the
seed ``replicate_seed(base_seed, r)``, the same at every point: differences between points are
then differences of parameters, not of luck (common random numbers), which is what makes
sensitivity indices of a stochastic model meaningful. Each run has a stable id, a hash of its
point index, parameter values, replicate and seed (:func:`run_id`), so that a resumed sweep
recognises exactly the runs already done.

Execution (:mod:`experiments.sweeps.executors`, on the pools of :mod:`experiments.runner`).
Every executor submits the same pure function, :func:`run_batch` (a list of :func:`run_one`
calls), to: this process (``serial``), local worker processes (``local``,
``concurrent.futures.ProcessPoolExecutor`` with the spawn start method), or a Dask cluster
(``dask``: a ``LocalCluster`` started for the sweep, or an existing scheduler). A run depends
only on its configuration and seed and the kernels are sequential (no ``prange``), so the rows
are identical, bit for bit, whichever executor computed them. Worker processes set
``NUMBA_NUM_THREADS=1`` before numba is imported (one process per core).

Storage (``DIR`` = ``--out``)::

    spec.toml            the specification as given (comments included)
    manifest.json        the normalised specification and its digest, parameters, metrics, run
                         count, package version, code fingerprint, git commit (and whether the
                         tree had uncommitted changes), and one record per session, written
                         as it starts ("running"): its end is recorded as complete, incomplete
                         or interrupted, and one killed outright is marked "killed" by the next
    design.parquet       the design points (point index and parameter values); a resumed sweep
                         uses these, not a regenerated design, so a library upgrade cannot shift them
    runs/part-*.parquet  the results: one row per finished run (run_id, point, replicate, seed,
                         the parameters, the metrics, status "ok"/"error", error text, package version)
    timeseries/<run_id>.parquet   each run's full time series, if the spec asks for them

(The temporary files of a writer killed mid-write, ``.tmp-*`` in ``DIR``, ``runs/`` or ``timeseries/``,
are removed when the sweep is resumed.)

Rows stream to disk as runs finish: buffered for at most ``flush_seconds`` and written as a new
part file, atomically (written to a temporary name, fsync'ed, then ``os.replace``d), so a part
file is either complete or absent, whatever kills the sweep. A run counts as done when its row
is in a part file; ``--resume`` skips exactly those, so nothing is duplicated and nothing is
lost (a run that was finished but not yet written is simply run again, with the same result).
A sweep is resumed only with its specification and by the code that started it (the fingerprint
of :func:`experiments.runner.code_fingerprint`: the package version, the files of model, agents and
experiments, built-in scenarios included but not the example specifications of ``experiments/specs/``,
and the versions of Python, NumPy, SciPy, numba, pandas, Mesa and pyarrow), so its rows never mix
results of different code; every worker reports the
fingerprint of the code it runs with each batch, and a batch from a worker whose code differs
from the manifest's (a Dask worker with another installation) stops the sweep, and is not written.
(The paper's sensitivity figure runs its sweep in a folder of the ``figures`` command's checkpoint
and resumes it there: :func:`experiments.analysis.figures.sensitivity.sensitivity_results`.)
A run that raises (e.g. the clearing fails) is a row with ``status = "error"`` and the error
text; it does not stop the sweep and is retried on a resume only with ``retry_failed``. A run whose
configuration is not valid (a ``ConfigError``: bad input, which a retry would meet again) is not a
result: it stops the sweep with a :class:`SpecError` naming the design point. A lock
on ``DIR/.sweep.lock`` (released by the kernel even on SIGKILL) stops two sweeps writing into
one directory at once.

Interruptions. Ctrl-C cancels the queued batches, gives those already on a worker
``GRACE_SECONDS`` to finish, writes everything finished and raises :class:`SweepInterrupted`
(the command line says how to resume). A local worker process that dies (killed, out of memory)
breaks its pool: the pool is restarted and the unfinished batches resubmitted, up to
``MAX_POOL_RESTARTS`` times. Dask restarts a dead worker and reschedules its tasks itself; a task
that keeps killing workers is reported as lost, to be run again by a resume.

Modules: :mod:`~experiments.sweeps.spec` (the specification), :mod:`~experiments.sweeps.parsing`
(reading it from TOML), :mod:`~experiments.sweeps.designs` (design points and run tasks),
:mod:`~experiments.sweeps.executors` (running a sweep), :mod:`~experiments.sweeps.store` (the
output directory), :mod:`~experiments.sweeps.loaders` (results as pandas or xarray) and
:mod:`~experiments.sweeps.bench` (an executor benchmark).
"""

from experiments.runner import EXECUTORS
from experiments.sweeps.designs import design_table, make_tasks
from experiments.sweeps.executors import SweepReport, run_batch, run_one, run_sweep
from experiments.sweeps.loaders import load_results, to_xarray
from experiments.sweeps.parsing import load_spec, parse_spec
from experiments.sweeps.spec import (
    DESIGNS,
    Parameter,
    SpecError,
    SweepError,
    SweepInterrupted,
    SweepSpec,
    replicate_seed,
    run_id,
    spec_to_toml,
)
from experiments.sweeps.store import load_design, load_manifest

__all__ = [
    "DESIGNS",
    "EXECUTORS",
    "Parameter",
    "SweepSpec",
    "SpecError",
    "SweepError",
    "SweepInterrupted",
    "SweepReport",
    "load_spec",
    "parse_spec",
    "spec_to_toml",
    "design_table",
    "replicate_seed",
    "run_id",
    "make_tasks",
    "run_one",
    "run_batch",
    "run_sweep",
    "load_manifest",
    "load_design",
    "load_results",
    "to_xarray",
]
