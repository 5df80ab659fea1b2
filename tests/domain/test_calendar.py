from datetime import UTC, datetime, timedelta, timezone

import pytest

from domain.calendar import add_days, add_months, midterm_period, report_schedule

CASABLANCA = timezone(timedelta(hours=1), "Africa/Casablanca")  # fixed offset: no tzdata needed


def test_jan_31_plus_one_month_is_end_of_february():
    assert add_months(datetime(2023, 1, 31), 1) == datetime(2023, 2, 28)
    assert add_months(datetime(2024, 1, 31), 1) == datetime(2024, 2, 29)  # leap year


def test_month_end_clamping_for_30_day_months():
    assert add_months(datetime(2024, 3, 31), 1) == datetime(2024, 4, 30)
    assert add_months(datetime(2024, 8, 31), 1) == datetime(2024, 9, 30)


def test_adding_months_crosses_years_and_keeps_time_and_zone():
    awards = datetime(2024, 1, 17, 10, 30, tzinfo=CASABLANCA)  # 4th edition awards day
    assert add_months(awards, 24) == datetime(2026, 1, 17, 10, 30, tzinfo=CASABLANCA)
    assert add_months(datetime(2023, 11, 15, 9, tzinfo=UTC), 3) == datetime(2024, 2, 15, 9, tzinfo=UTC)
    assert add_months(awards, 24).tzinfo is CASABLANCA


def test_negative_months_go_back():
    assert add_months(datetime(2024, 3, 31), -1) == datetime(2024, 2, 29)
    assert add_months(datetime(2024, 1, 15), -2) == datetime(2023, 11, 15)


def test_add_days_keeps_time_and_zone():
    call_closes = datetime(2023, 10, 13, 23, 59, tzinfo=timezone(timedelta(hours=1)))
    assert add_days(call_closes, 15) == datetime(2023, 10, 28, 23, 59, tzinfo=timezone(timedelta(hours=1)))
    assert add_days(datetime(2024, 2, 28), 1) == datetime(2024, 2, 29)


def test_24_month_project_reports_every_6_months():
    start = datetime(2024, 3, 1, tzinfo=UTC)
    assert report_schedule(start, 24, 6) == [
        datetime(2024, 9, 1, tzinfo=UTC),
        datetime(2025, 3, 1, tzinfo=UTC),
        datetime(2025, 9, 1, tzinfo=UTC),
        datetime(2026, 3, 1, tzinfo=UTC),
    ]


def test_final_report_is_at_the_end_even_off_the_interval():
    start = datetime(2024, 3, 1, tzinfo=UTC)
    assert report_schedule(start, 10, 6) == [datetime(2024, 9, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)]
    assert report_schedule(start, 6, 6) == [datetime(2024, 9, 1, tzinfo=UTC)]
    assert report_schedule(start, 4, 6) == [datetime(2024, 7, 1, tzinfo=UTC)]


def test_schedule_from_a_month_end_does_not_drift():
    # Each due date is counted from the start: Aug 31 + 6 = Feb 28, + 12 = Aug 31 (not Aug 28).
    assert report_schedule(datetime(2023, 8, 31), 12, 6) == [datetime(2024, 2, 29), datetime(2024, 8, 31)]
    assert report_schedule(datetime(2023, 1, 31), 3, 1) == [
        datetime(2023, 2, 28),
        datetime(2023, 3, 31),
        datetime(2023, 4, 30),
    ]


def test_schedule_refuses_nonsense():
    with pytest.raises(ValueError, match="interval_months"):
        report_schedule(datetime(2024, 1, 1), 24, 0)
    with pytest.raises(ValueError, match="duration_months"):
        report_schedule(datetime(2024, 1, 1), 0, 6)


def test_midterm_report_period():
    assert midterm_period(4) == 2  # 24 months every 6: the 12-month report
    assert midterm_period(2) == 1
    assert midterm_period(3) == 2
    assert midterm_period(1) == 1
    with pytest.raises(ValueError):
        midterm_period(0)


def test_report_due_dates_follow_the_programme_calendar_in_casablanca():
    """Signed on 31 Jan at 23:30 UTC, which is already 1 Feb in Casablanca: reports fall due on the 1st
    of the month there, not on the UTC month's clamped last day."""
    from datetime import UTC, datetime

    from domain.calendar import local_date
    from simulation.factories import settings_with

    start = datetime(2024, 1, 31, 23, 30, tzinfo=UTC)
    dues = settings_with(report_interval_months=1).report_due_dates(start, 3)
    assert [local_date(d).isoformat() for d in dues] == ["2024-03-01", "2024-04-01", "2024-05-01"]
    assert all(d.tzinfo is not None and d.utcoffset().total_seconds() == 0 for d in dues)
