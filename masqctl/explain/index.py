"""A sorted interval index: for any address, every rule that contains it, by bisection.

The address space is cut at every CIDR boundary into segments; each segment holds the
keys (rule positions) of the intervals containing it, lowest first, so the first
matching rule is ``keys[0]``.  Built once with a sweep, O(n log n) for n intervals;
each lookup is one ``bisect``.
"""

from __future__ import annotations

import heapq
from bisect import bisect_right, insort
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class IntervalIndex:
    """Segments of the address space, by their first address."""

    starts: list[int]
    keys: list[tuple[int, ...]]

    @classmethod
    def build(cls, intervals: Iterable[tuple[int, int, int]]) -> IntervalIndex:
        """Index ``(first, last, key)`` intervals; keys are unique, lower keys win."""
        by_first = sorted(intervals)
        boundaries = sorted(
            {0, *(first for first, _, _ in by_first), *(last + 1 for _, last, _ in by_first)}
        )
        starts: list[int] = []
        keys: list[tuple[int, ...]] = []
        active: list[int] = []
        expiry: list[tuple[int, int]] = []
        position = 0
        for boundary in boundaries:
            while position < len(by_first) and by_first[position][0] <= boundary:
                _, last, key = by_first[position]
                insort(active, key)
                heapq.heappush(expiry, (last, key))
                position += 1
            while expiry and expiry[0][0] < boundary:
                _, key = heapq.heappop(expiry)
                del active[bisect_right(active, key) - 1]
            current = tuple(active)
            if not keys or keys[-1] != current:
                starts.append(boundary)
                keys.append(current)
        return cls(starts, keys)

    def segment(self, value: int) -> int:
        """The number of the segment holding ``value``."""
        return bisect_right(self.starts, value) - 1

    def pieces(self, first: int, last: int) -> list[tuple[int, int, int]]:
        """``(first, last, segment)`` for each segment overlapping ``first..last``."""
        result = []
        segment = self.segment(first)
        while segment < len(self.starts) and self.starts[segment] <= last:
            piece_last = last
            if segment + 1 < len(self.starts):
                piece_last = min(last, self.starts[segment + 1] - 1)
            result.append((max(first, self.starts[segment]), piece_last, segment))
            segment += 1
        return result
