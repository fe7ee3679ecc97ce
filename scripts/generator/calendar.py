"""Fixed calendar of the synthetic world (no heavy imports: the CLI validates flags with it).

Dimensions must not depend on the dates a run generates, so signups and campaign
flights are spread over fixed windows; a generation day only uses users who have
signed up by then.
"""

from __future__ import annotations

import datetime as dt_

EPOCH = dt_.date(1970, 1, 1)


def day_number(day: dt_.date) -> int:
    """Days since 1970-01-01."""
    return (day - EPOCH).days


SIGNUP_FIRST_DATE = dt_.date(2025, 7, 7)
SIGNUP_FIRST = day_number(SIGNUP_FIRST_DATE)
SIGNUP_LAST = day_number(dt_.date(2027, 2, 28))
FLIGHT_FIRST = day_number(dt_.date(2026, 9, 1))
FLIGHT_LAST = day_number(dt_.date(2027, 2, 28))
# Mon..Sun session volume relative to --events-per-day (weekend uplift; mean 1)
WEEKDAY_FACTOR = (0.92, 0.92, 0.92, 0.92, 0.92, 1.2, 1.2)
