"""Column names shared by every frame in the package (one place, as in Microsoft Recommenders)."""

USER = "user"
ITEM = "item"
RATING = "rating"
TIMESTAMP = "timestamp"
SCORE = "score"
RANK = "rank"

TITLE = "title"
GENRES = "genres"
YEAR = "year"

DEFAULT_SEED = 42
