"""What a replay's index pass learns, kept beside the save so a reopened replay seeks at once.

The index pass (`Replay.build_index`) re-simulates the whole run to checkpoint it
and to learn what the player was shown (hints, symptoms, alerts). That costs as
long as the run takes to simulate, every time the save is opened; the cache file
`.<save name>.replay-index` beside the save keeps the result.

Never trusted blindly. The cache is keyed by the save file's SHA-256, the engine
version and the checkpoint spacing; its body carries its own SHA-256 (a torn or
flipped file is caught before anything is unpickled); unpickling allows only the
classes a checkpoint holds (a cache is a file anyone could have put there); and the
run's metric digest is recomputed from the cached history rows and must equal the
digest the index pass reached. Anything wrong: the cache is ignored (and the index
pass rebuilds and rewrites it).

Engine checkpoints hold the digest's running SHA-256, which cannot be pickled: the
cache stores the history rows instead and `digest_states` rebuilds each
checkpoint's hash by hashing those rows as the engine did, which the digest check
above proves right for this engine.
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import zlib
from pathlib import Path

import attrs
import numpy as np

from sim import ENGINE_VERSION
from sim.engine.metrics import DEPENDENCY_SERIES, POOL_SERIES

FORMAT = 1
SUFFIX = ".replay-index"
CLASS_COUNT_SERIES = ("class_arrivals", "class_completed", "class_failed", "class_rejected")
"""The per-class counts the engine hashes as one (4, classes, 2) block, in this order."""

_SAFE_GLOBALS = {
    ("builtins", name) for name in ("dict", "list", "set", "frozenset", "tuple", "int", "float", "complex", "bool",
                                    "str", "bytes", "bytearray", "slice", "range", "object")
} | {
    ("collections", "deque"), ("collections", "OrderedDict"), ("collections", "defaultdict"), ("collections", "Counter"),
    ("copyreg", "_reconstructor"),
    ("numpy", "dtype"), ("numpy", "ndarray"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    ("numpy.random._pickle", "__bit_generator_ctor"), ("numpy.random._pickle", "__generator_ctor"),
    ("numpy.random._pickle", "__randomstate_ctor"),
    ("numpy.random.bit_generator", "__pyx_unpickle_SeedSequence"),
}
"""Non-sim globals a cache may name: containers, numpy arrays and generators, nothing callable beyond."""


class CacheRejected(Exception):
    """The cache file is missing, stale or damaged (the message says which)."""


def cache_path(save_path: str | Path) -> Path:
    """`.<name>.replay-index` beside the save (hidden: `brownout saves list` shows only saves)."""
    save_path = Path(save_path)
    return save_path.with_name(f".{save_path.name}{SUFFIX}")


@attrs.frozen
class IndexData:
    """The index pass's results for one save."""

    checkpoint_every_ticks: int
    end_tick: int
    index_digest: str
    checkpoints: dict
    """tick -> PackedCheckpoint (with its hash state and history rows once read)."""
    hint_times: dict
    symptoms_seen: tuple
    alerts_seen: tuple
    rows: dict = attrs.field(factory=dict, eq=False)
    """In the file: every history series over the whole run (the checkpoints are stored without
    their rows: one array per series loads far faster than thousands of small ones)."""


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _SAFE_GLOBALS:
            return super().find_class(module, name)
        if module == "sim" or module.startswith("sim."):
            found = super().find_class(module, name)
            if isinstance(found, type):
                return found
        if module.startswith("numpy") and name[:1].isupper():
            found = super().find_class(module, name)
            if isinstance(found, type):  # dtypes and bit generators
                return found
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a replay index")


class _CheckpointUnpickler(_RestrictedUnpickler):
    def __init__(self, file, side: tuple):
        super().__init__(file)
        self.side = side

    def persistent_load(self, pid):
        return self.side[pid].copy()


def write_cache(save_path: Path, save_sha256: str, data: IndexData, write_atomic) -> bool:
    """Write the cache beside the save (atomically, via `write_atomic(path, bytes)`); False if it cannot be.

    Checkpoints with a hash state other than the digest's are not cached (False), and
    neither is an index whose rows do not rebuild its own digest.
    """
    if any(len(checkpoint.side) != 1 for checkpoint in data.checkpoints.values()):
        return False
    try:
        series = assemble_rows(data.checkpoints, data.end_tick)
        states = digest_states(series, data.checkpoints, data.end_tick)
    except CacheRejected:
        return False
    if states[data.end_tick].hexdigest() != data.index_digest:
        return False
    stored = {tick: attrs.evolve(checkpoint, side=(), rows={}) for tick, checkpoint in data.checkpoints.items()}
    # No compression: the checkpoints are compressed already, and reading must be fast.
    body = pickle.dumps(attrs.evolve(data, checkpoints=stored, rows=series), protocol=pickle.HIGHEST_PROTOCOL)
    header = {
        "format": FORMAT, "engine_version": ENGINE_VERSION, "save_sha256": save_sha256,
        "checkpoint_every_ticks": data.checkpoint_every_ticks, "body_sha256": hashlib.sha256(body).hexdigest(),
    }
    try:
        write_atomic(cache_path(save_path), json.dumps(header, sort_keys=True).encode("utf-8") + b"\n" + body)
    except OSError:
        return False  # a read-only folder: the replay works, it just indexes again next time
    return True


def read_cache(save_path: Path, save_sha256: str, checkpoint_every_ticks: int, end_tick: int) -> IndexData:
    """The cached index of this save; raises CacheRejected when it is missing, stale or damaged."""
    path = cache_path(save_path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise CacheRejected(f"no cache ({error.strerror or error})") from None
    line, newline, body = raw.partition(b"\n")
    try:
        header = json.loads(line.decode("utf-8"))
        if not isinstance(header, dict):
            raise ValueError("not an object")
    except (UnicodeDecodeError, ValueError) as error:
        raise CacheRejected(f"unreadable header: {error}") from None
    wanted = {"format": FORMAT, "engine_version": ENGINE_VERSION, "save_sha256": save_sha256,
              "checkpoint_every_ticks": checkpoint_every_ticks}
    for key, value in wanted.items():
        if header.get(key) != value:
            raise CacheRejected(f"stale: {key} is {header.get(key)!r}, this replay needs {value!r}")
    if not newline or hashlib.sha256(body).hexdigest() != header.get("body_sha256"):
        raise CacheRejected("damaged: the body does not match its checksum")
    try:
        data = _RestrictedUnpickler(io.BytesIO(body)).load()
    except Exception as error:  # a checksum-valid body can still be hostile or from another build
        raise CacheRejected(f"damaged: {type(error).__name__}: {error}") from None
    if not isinstance(data, IndexData) or data.end_tick != end_tick or data.checkpoint_every_ticks != checkpoint_every_ticks:
        raise CacheRejected("damaged: not the index of this run")
    series = data.rows
    if not isinstance(series, dict) or any(
            not isinstance(rows, np.ndarray) or len(rows) != end_tick for rows in series.values()):
        raise CacheRejected("damaged: the history rows do not span the run")
    for tick, checkpoint in data.checkpoints.items():
        if tick != checkpoint.tick or not 0 <= checkpoint.first_row <= tick <= end_tick:
            raise CacheRejected("damaged: a checkpoint's rows fall outside the run")
    states = digest_states(series, data.checkpoints, end_tick)
    if states[end_tick].hexdigest() != data.index_digest:
        raise CacheRejected("damaged: its history rows do not rebuild its digest")
    checkpoints = {
        tick: attrs.evolve(cp, side=(states[tick],), cached=True,
                           rows={name: rows[cp.first_row:tick] for name, rows in series.items()})
        for tick, cp in data.checkpoints.items()
    }
    return attrs.evolve(data, checkpoints=checkpoints, rows={})


def load_state(checkpoint) -> object:
    """A cached checkpoint's engine state, unpickled with the same allow-list."""
    return _CheckpointUnpickler(io.BytesIO(zlib.decompress(checkpoint.packed)), checkpoint.side).load()


def assemble_rows(checkpoints: dict, end_tick: int) -> dict:
    """Every history series over [0, end_tick), from the checkpoints' row blocks."""
    if 0 not in checkpoints or end_tick not in checkpoints:
        raise CacheRejected("damaged: the checkpoints do not span the run")
    names = next(iter(checkpoints.values())).rows.keys()
    series = {}
    covered = np.zeros(end_tick, dtype=bool)
    for checkpoint in checkpoints.values():
        lo, hi = checkpoint.first_row, checkpoint.tick
        if not 0 <= lo <= hi <= end_tick or checkpoint.rows.keys() != names:
            raise CacheRejected("damaged: a checkpoint's rows fall outside the run")
        for name, rows in checkpoint.rows.items():
            if name not in series:
                series[name] = np.zeros((end_tick, *rows.shape[1:]), dtype=rows.dtype)
            series[name][lo:hi] = rows
        covered[lo:hi] = True
    if not covered.all():
        raise CacheRejected("damaged: the history rows have gaps")
    return series


def digest_states(series: dict, checkpoints: dict, end_tick: int) -> dict:
    """The engine's digest hash as it stood at each checkpoint's tick, rebuilt from the history rows.

    Each tick the engine hashes its scalar row, the per-class counts, the per-class
    within-threshold counts, then the pool and dependency rows; feeding many ticks'
    bytes in one update hashes exactly what one update per tick does.
    """
    if 0 not in checkpoints or end_tick not in checkpoints:
        raise CacheRejected("damaged: the checkpoints do not span the run")
    try:
        per_tick = _tick_bytes(series, end_tick)
    except (KeyError, ValueError) as error:
        raise CacheRejected(f"damaged: {error}") from None
    states = {}
    digest = hashlib.sha256()
    done = 0
    for tick in sorted(checkpoints):
        digest.update(per_tick[done:tick].tobytes())
        done = tick
        states[tick] = digest.copy()
    return states


def _tick_bytes(series: dict, end_tick: int) -> np.ndarray:
    """(ticks, bytes) of what the engine hashed each tick, in its order."""
    blocks = []
    scalar_names = [name for name, rows in series.items() if rows.ndim == 1 and name not in _buffer_names(series)]
    blocks.append(np.stack([series[name].astype(np.float64) for name in scalar_names], axis=1))
    # The engine hashes its own int64 tallies of these; the history keeps them as int32.
    blocks.append(np.stack([series[name].astype(np.int64) for name in CLASS_COUNT_SERIES], axis=1))
    blocks.append(series["class_within"].astype(np.int64))
    for name in (*POOL_SERIES, *DEPENDENCY_SERIES):
        if name in series:
            blocks.append(series[name])
    columns = [np.ascontiguousarray(b).reshape(end_tick, -1).view(np.uint8) for b in blocks if b.size]
    return np.concatenate(columns, axis=1)


def _buffer_names(series: dict) -> set:
    return {*CLASS_COUNT_SERIES, "class_within", "class_degraded", *POOL_SERIES, *DEPENDENCY_SERIES}
