"""Fuzzing the public entry points: sigma, estimate and sigma_many get arbitrary shapes, every
NumPy dtype (numeric or not), memory layouts (negative and zero strides, unaligned buffers,
read-only arrays), parameter values and non-finite entries. Each call either returns a finite
answer that agrees with the SVD, or raises the documented exception (ValueError or TypeError,
whichever the input's problems call for); nothing else passes: not a crash, a hang, another
exception, a NaN, or a modified input.

tests/fuzz/fuzz_sigma.py drives the same oracle from atheris (coverage-guided, for long runs).
"""

from __future__ import annotations

import base64
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent / "fuzz"))
import oracle

FUZZ = settings(max_examples=2000, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def cases(draw):
    """One call: (function name, A, keyword arguments) from a stream of fuzzer choices."""
    data = draw(st.binary(min_size=0, max_size=600))
    return oracle.decode(data)


@FUZZ
@given(cases())
def test_every_call_answers_or_raises_the_documented_exception(case):
    oracle.check(*case)


@FUZZ
@given(st.lists(st.binary(min_size=0, max_size=200), min_size=0, max_size=5))
def test_sigma_many_answers_or_raises(parts):
    decoded = [oracle.decode(p) for p in parts]
    oracle.check_many([a for _, a, _ in decoded])


#: Inputs the atheris harness stopped on, each a bug mended since (base64 of the byte string).
FOUND = {
    "gAVAzzUL": "float32, one entry 1.4e-45: sigma was 0",
    "sbCwsLCwsLk=": "unaligned 1 x 1 array, both C- and F-ordered: the core rejected it",
    "w8PDCgoKajI=": "float32, two entries 3e38 (norm beyond float32): sigma was 0",
    "PLNCQkJCCjQzM0JCQkJCQkI=": "a stack of 1 x 1 matrices from 3e38 to 1e-300 (the oracle's "
                                "reference scaled the stack as one)",
    "Jy4VKysrK2ArAQAAenp6ALp6enoneif6KysrKwQCAg==": "a stack holding -inf and 3e38, method svd "
                                                    "on numpy: endless rescaling",
    "Y3WPeQAAAAAAIAAgvA==": "2 x 3, entries 1e-8 and -16: the Gram kernel's start cancelled "
                            "(4 seeds in 10 gave sigma = 1e-8)",
}


@pytest.mark.parametrize("data", sorted(FOUND), ids=[FOUND[k] for k in sorted(FOUND)])
def test_inputs_the_fuzzer_found(data):
    oracle.check(*oracle.decode(base64.b64decode(data)))


def test_the_oracle_catches_a_wrong_answer(monkeypatch):
    """The checker itself fails when an estimator is wrong (so the tests above can fail)."""
    import dataclasses

    import specnorm

    real = specnorm.estimate
    monkeypatch.setattr(specnorm, "estimate",
                        lambda *args, **kw: dataclasses.replace(real(*args, **kw), sigma=2.0))
    with pytest.raises(AssertionError):
        oracle.check("estimate", np.diag([3.0, 1.0]), {"method": "auto"})


def test_decode_covers_the_input_space():
    """The decoder reaches every family it claims (over a fixed sample of byte strings)."""
    rng = np.random.default_rng(0)
    seen_dtypes, seen_layouts, seen_ndim = set(), set(), set()
    for _ in range(3000):
        raw = rng.integers(0, 256, size=int(rng.integers(0, 80)), dtype=np.uint8).tobytes()
        _, a, _ = oracle.decode(raw)
        arr = np.asarray(a) if not isinstance(a, np.ndarray) else a
        seen_dtypes.add(arr.dtype.kind)
        seen_ndim.add(arr.ndim)
        flags = arr.flags
        seen_layouts.add("readonly" if not flags.writeable else "writeable")
        if not flags.aligned:
            seen_layouts.add("unaligned")
        if any(s == 0 for s in arr.strides) and arr.size > 1:
            seen_layouts.add("zero-stride")
        if any(s < 0 for s in arr.strides):
            seen_layouts.add("negative-stride")
    assert set("biufcOUSVMm") <= seen_dtypes, seen_dtypes
    assert {"readonly", "writeable", "unaligned", "zero-stride", "negative-stride"} <= \
        seen_layouts
    assert {0, 1, 2, 3} <= seen_ndim
