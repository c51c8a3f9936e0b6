"""Lists are answered a page at a time: at most `limit` items (100 unless asked, 500 at
most), after `cursor`, the `next_cursor` of the page before. A cursor is the last item's
id, and the stores page by keys (`core.db.rows_after`), so an item added or removed while
someone pages through never shows another twice or skips one."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query

from minutekeeper.api.schemas import Page

DEFAULT_LIMIT = 100
MAX_LIMIT = 500


@dataclass(frozen=True)
class PageQuery:
    limit: int
    cursor: str | None

    @property
    def fetch(self) -> int:
        """How many to read: one more than a page, to know whether another follows."""
        return self.limit + 1


async def _page_query(  # async: no trip through the thread pool
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description=f"At most this many items (up to {MAX_LIMIT}).")
    ] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(max_length=100, description="The `next_cursor` of the page before; none: the first."),
    ] = None,
) -> PageQuery:
    return PageQuery(limit, cursor)


Paging = Annotated[PageQuery, Depends(_page_query)]


def page_of(found: Sequence[Any], paging: PageQuery, cursor_of: Callable[[Any], str]) -> Page[Any]:
    """The page of `found` (read with `paging.fetch`): its first `limit` items, and the
    cursor of the last of them when more were found."""
    items = list(found[: paging.limit])
    more = len(found) > paging.limit
    return Page[Any](items=items, next_cursor=cursor_of(items[-1]) if more else None)
