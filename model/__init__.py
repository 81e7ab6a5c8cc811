"""carry-unwind: an agent-based model of the yen carry-trade unwind feedback loop."""

from model.numba_cache import configure as _configure_numba_cache
from model.version import __version__

_configure_numba_cache()  # before anything numba decorates (model.version imports nothing heavy)


def __getattr__(name: str):
    # lazy, so that `import model.validation` from the sectors does not pull in the whole model
    if name == "CarryUnwindModel":
        from model.model import CarryUnwindModel

        return CarryUnwindModel
    if name == "ModelConfig":
        from model.config import ModelConfig

        return ModelConfig
    if name in ("run_simulation", "RunResult"):
        from model import results

        return getattr(results, name)
    raise AttributeError(name)


__all__ = ["CarryUnwindModel", "ModelConfig", "run_simulation", "RunResult", "__version__"]
