"""Windows over time-ordered tables (`data=windows`): each example is the last `window` rows."""
