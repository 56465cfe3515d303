"""Risk levels of an identity's stored risk score (tokens/posture.py scores it hourly)."""

# The score from which each level starts, highest first.
LEVELS = (("high", 40), ("medium", 20), ("low", 1), ("none", 0))
LEVEL_LABELS = {"high": "High", "medium": "Medium", "low": "Low", "none": "None"}


def level_of(score: int) -> str:
    return next(name for name, floor in LEVELS if score >= floor)


def level_range(level: str) -> tuple[int, int | None]:
    """The scores of a level: from, and up to but not including (None: no top)."""
    floors = dict(LEVELS)
    above = [floor for name, floor in LEVELS if floor > floors[level]]
    return floors[level], (min(above) if above else None)
