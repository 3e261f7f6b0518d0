"""Hypothesis strategies shared by the property tests."""

from __future__ import annotations

from hypothesis import strategies as st

_numbers = st.one_of(st.integers(-1000, 1000), st.floats(allow_nan=False, allow_infinity=False))

# `data.label_values` as a user may write them: at least two distinct labels, all numbers
# (ints in any order such as [1, 0, -1], floats, or a mix) or all strings.
label_values = st.one_of(
    st.lists(st.integers(-1000, 1000), min_size=2, max_size=6, unique=True),
    st.lists(_numbers, min_size=2, max_size=6, unique=True),
    # Printable text: a CSV cell cannot hold a NUL or other control characters.
    st.lists(
        st.text(st.characters(categories=("L", "N", "P", "S", "Zs")), min_size=1, max_size=8),
        min_size=2,
        max_size=6,
        unique=True,
    ),
)
