"""Fuzz the save loader: whatever the bytes, the result is a Save or an InputError."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.model.errors import InputError
from sim.records.saves import Save, parse_save

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "saves"
VALID_TEXT = (DATA_DIR / "valid.toml").read_text()
VALID_BYTES = VALID_TEXT.encode()
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _load(raw: bytes) -> Save | None:
    """Parse and check the only two allowed outcomes."""
    try:
        save = parse_save(raw, "fuzz.toml")
    except InputError as exc:
        assert exc.problems, "an InputError must carry at least one problem"
        line = exc.first_line()
        assert line.startswith("fuzz.toml") and "\n" not in line
        return None
    assert isinstance(save, Save)
    return save


@FUZZ
@given(st.binary(max_size=2000))
def test_random_bytes(raw):
    _load(raw)


toml_scalars = st.one_of(
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.booleans(),
    st.datetimes(timezones=st.just(dt.timezone.utc)),
    st.dates(),
)
toml_values = st.recursive(
    toml_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(min_size=1, max_size=10), children, max_size=4),
    max_leaves=20,
)
save_keys = st.sampled_from(
    ["save", "result", "actions", "integrity", "forked_from", "format_version", "seed", "slis", "args", "t_s", "name"]
)


@FUZZ
@given(st.dictionaries(save_keys | st.text(min_size=1, max_size=8), toml_values, max_size=6))
def test_random_toml_documents(document):
    _load(tomli_w.dumps(document).encode())


@FUZZ
@given(
    st.sampled_from(["save", "result", "actions", "integrity"]),
    st.text(min_size=1, max_size=15),
    toml_values,
)
def test_valid_save_with_a_field_replaced(table, key, value):
    import tomllib

    document = tomllib.loads(VALID_TEXT)
    if isinstance(document[table], dict):
        document[table][key] = value
    elif document[table]:
        document[table][0][key] = value
    else:
        document[table] = value
    _load(tomli_w.dumps(document).encode())


@FUZZ
@given(st.data())
def test_valid_save_with_bytes_mutated(data):
    raw = bytearray(VALID_BYTES)
    for _ in range(data.draw(st.integers(1, 5))):
        position = data.draw(st.integers(0, len(raw) - 1))
        operation = data.draw(st.sampled_from(["flip", "delete", "insert", "truncate"]))
        if operation == "flip":
            raw[position] = data.draw(st.integers(0, 255))
        elif operation == "delete":
            del raw[position]
        elif operation == "insert":
            raw[position:position] = data.draw(st.binary(min_size=1, max_size=8))
        else:
            del raw[position:]
        if not raw:
            break
    _load(bytes(raw))


@FUZZ
@given(st.integers(0, len(VALID_BYTES) - 1))
def test_every_truncation_is_an_error(cut):
    # A save cut short anywhere is refused, never loaded as a shorter run
    # (losing only the final newline loses nothing).
    loaded = _load(VALID_BYTES[:cut])
    assert loaded is None or not VALID_BYTES[cut:].strip()


@FUZZ
@given(st.data())
def test_any_single_line_deleted_is_an_error(data):
    lines = VALID_TEXT.splitlines(keepends=True)
    index = data.draw(st.integers(0, len(lines) - 1))
    if not lines[index].strip():
        return
    assert _load("".join(lines[:index] + lines[index + 1 :]).encode()) is None
