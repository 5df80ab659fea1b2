"""Calendar arithmetic for deadlines and report schedules: pure, stdlib only.

The stdlib `calendar` module is deliberately not imported: this module shares its name.
"""

from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

D = TypeVar("D", date, datetime)


def _days_in_month(year: int, month: int) -> int:
    first = date(year, month, 1)
    following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return (following - first).days


def add_months(d: D, months: int) -> D:
    """`d` plus calendar months; the day is clamped to the month's end (Jan 31 + 1 -> Feb 28/29).

    Time of day and tzinfo are kept.
    """
    year, month0 = divmod(d.year * 12 + (d.month - 1) + months, 12)
    month = month0 + 1
    return d.replace(year=year, month=month, day=min(d.day, _days_in_month(year, month)))


def add_days(d: D, days: int) -> D:
    return d + timedelta(days=days)


def report_schedule(start: D, duration_months: int, interval_months: int) -> list[D]:
    """Report due dates: every `interval_months` from `start`, the last at the project's end.

    Each date is computed from `start` (not from the previous one) so month-end clamping
    does not drift: Jan 31 every month gives Feb 28, Mar 31, Apr 30.
    """
    if duration_months < 1:
        raise ValueError(f"duration_months must be at least 1, got {duration_months}")
    if interval_months < 1:
        raise ValueError(f"interval_months must be at least 1, got {interval_months}")
    offsets = [*range(interval_months, duration_months, interval_months), duration_months]
    return [add_months(start, m) for m in offsets]


def midterm_period(n_reports: int) -> int:
    """The 1-based period of the mid-term report: ceil(n / 2) (1 for a single report)."""
    if n_reports < 1:
        raise ValueError(f"n_reports must be at least 1, got {n_reports}")
    return (n_reports + 1) // 2


# The programme's calendar is Morocco's: a call that closes on a date closes at the end of that day in
# Casablanca, a report due in six months is due on that local date. Instants are stored in UTC.
PROGRAMME_TZ = ZoneInfo("Africa/Casablanca")


def start_of_day(d: date) -> datetime:
    """Midnight at the start of `d` in Casablanca, as a UTC instant."""
    return datetime.combine(d, time(0), PROGRAMME_TZ).astimezone(UTC)


def end_of_day(d: date) -> datetime:
    """Midnight at the end of `d` in Casablanca (the start of the next day), as a UTC instant."""
    return start_of_day(d + timedelta(days=1))


def local_date(at: datetime) -> date:
    """The programme's date of an instant."""
    return at.astimezone(PROGRAMME_TZ).date()
