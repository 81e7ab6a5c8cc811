"""The auction analysis (``python -m experiments.analysis.auctions``): its twins are exact
reductions when nothing is shifted, and its command line rejects bad input."""

from __future__ import annotations

import pytest

from experiments.analysis import auctions


def test_a_shift_by_a_factor_of_one_is_the_twin_itself():
    for bidder in auctions.SHIFTS:
        assert set(auctions.schedule_shift(1, bidder, factor=1.0, days=30).values()) == {0.0}


def test_a_shifted_class_moves_the_tail_in_the_reported_figures():
    less = auctions.schedule_shift(1, "indirect", factor=0.8, days=30)
    assert less["tail_change_bp"] > 0 and less["indirect_share_change"] < 0
    assert less["dealer_allotment_change_usd_bn"] > 0


@pytest.mark.parametrize("argv", [["--seeds", "0"], ["--days", "5"], ["--factor", "-1"]])
def test_bad_arguments_are_rejected(argv, capsys):
    with pytest.raises(SystemExit):
        auctions.main(argv)
    assert "is not allowed" in capsys.readouterr().err
