"""Feature steps that learn what to make from the training rows."""

from __future__ import annotations

import pandas as pd

from trainyard.tabular.prep.features import DateParts


def test_the_hour_is_a_part_only_where_the_values_hold_times() -> None:
    frame = pd.DataFrame(
        {
            "posted": ["2009-12-23T17:38:18Z", "2010-01-02T08:15:00Z", None],
            "listed": ["2020-01-01", "2020-02-03", "2021-05-06"],
        }
    )
    step = DateParts().fit(frame)
    assert step.feature_names_out_ == [
        "posted_year",
        "posted_month",
        "posted_dayofweek",
        "posted_months",
        "posted_hour",
        "listed_year",
        "listed_month",
        "listed_dayofweek",
        "listed_months",
    ]
    parts = step.transform(frame)
    assert parts["posted_hour"].tolist()[:2] == [17 + 38 / 60, 8.25] and parts["posted_hour"].isna().iloc[2]
    assert parts["listed_months"].tolist() == [241.0, 242.0, 257.0]
