import numpy as np
import pandas as pd
import pytest

from seglab.profile import profile_segments, standardised_differences


def test_profile_in_original_units():
    features = pd.DataFrame(
        {"monetary_total": [10.0, 30.0, 60.0, 0.0], "frequency": [1.0, 3.0, 6.0, 2.0]}
    )
    labels = pd.Series([1, 1, 0, 1])
    got = profile_segments(features, labels)
    assert got.loc[1, "customers"] == 3 and got.loc[1, "share"] == 0.75
    assert got.loc[0, "revenue"] == 60.0 and got.loc[1, "revenue_share"] == pytest.approx(0.4)
    assert got.loc[1, "mean_frequency"] == 2.0
    assert got["customers"].sum() == len(features)


def test_standardised_differences_by_hand_and_constant_feature():
    features = pd.DataFrame({"x": [0.0, 0.0, 2.0, 2.0], "c": [5.0] * 4})
    got = standardised_differences(features, pd.Series([0, 0, 1, 1]))
    # mean 1, population std 1: segment means 0 and 2 are -1 and +1 sd away.
    assert got["x"].tolist() == [-1.0, 1.0]
    assert got["c"].tolist() == [0.0, 0.0]
    assert not np.isnan(got.to_numpy()).any()
