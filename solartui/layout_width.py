"""What fits in a width: table columns, footer keys and title parts chosen by priority.

Why: an installer on a Pi over ssh has 80 columns; a laptop has 160 or more. Screens declare what
they could show and how much each part matters; this module (no Textual, no I/O) decides what
shows at a width, so the choice is the same everywhere and testable without a terminal. What is
dropped is always the least needed; what is kept is never cut at its end — a long text is
shortened in the middle, where the start and the end that tell it apart stay visible.
"""

from __future__ import annotations

from dataclasses import dataclass

ELLIPSIS = "…"
#: a piece is shortened to no less than this (or half its length) before pieces are dropped
MIN_PIECE = 12


@dataclass(frozen=True)
class Part:
    """Something to show: a table column, a footer key, a piece of a title.

    `priority` 0 is always kept (even when it does not fit); a higher number is dropped sooner.
    `grow` is how many more columns it may take when there is room left over (a long value)."""

    key: str
    width: int
    priority: int = 0
    grow: int = 0
    title: str = ""

    @property
    def label(self) -> str:
        return self.title or self.key


def choose(parts, width: int, gap: int = 0) -> list[tuple[Part, int]]:
    """The parts that fit in `width`, in their own order, each with the width it gets.

    Parts are taken most needed first; one that does not fit is skipped and a smaller, less needed
    one may still take the room left. Each shown part costs its width plus `gap` (a table's cell
    padding). What is left over goes to the parts that can grow, in order."""
    parts = list(parts)
    used = 0
    kept: set[int] = set()
    for i in sorted(range(len(parts)), key=lambda i: parts[i].priority):
        cost = parts[i].width + gap
        if parts[i].priority == 0 or used + cost <= width:
            kept.add(i)
            used += cost
    spare = max(0, width - used)
    out = []
    for i, p in enumerate(parts):
        if i not in kept:
            continue
        extra = min(p.grow, spare)
        spare -= extra
        out.append((p, p.width + extra))
    return out


def elide_middle(text: str, width: int) -> str:
    """`text` in at most `width` characters, shortened in the middle (`/dev/ttyU…B0 unit 1`)."""
    if len(text) <= width:
        return text
    if width <= 1:
        return ELLIPSIS[:width]
    head = (width - 1 + 1) // 2
    tail = width - 1 - head
    return text[:head] + ELLIPSIS + (text[-tail:] if tail else "")


def fit_text(pieces, width: int, sep: str = " · ", shorten: bool = True) -> str:
    """Join `pieces` ((text, priority) pairs, in display order) in `width` characters.

    The least needed pieces go first (highest priority number); when the most needed left still
    do not fit, the longest of them is shortened in the middle, then the next, and so on. A piece
    less needed than the one that would be shortened is dropped first. `shorten=False` (a status
    line of counters): drop until the rest fits, shortening only what is left at the end."""
    pieces = [(str(t), p) for t, p in pieces if str(t)]
    if not pieces:
        return ""
    keep = list(range(len(pieces)))

    def joined(idx, texts=None):
        return sep.join((texts or {}).get(i, pieces[i][0]) for i in idx)

    def slack(idx):                     # what shortening in the middle could still save
        return sum(max(0, len(pieces[i][0]) - max(MIN_PIECE, len(pieces[i][0]) // 2))
                   for i in idx)

    def expendable(idx):                # less needed than the piece that would be shortened
        longest = max(idx, key=lambda i: len(pieces[i][0]))
        return max(pieces[i][1] for i in idx) > pieces[longest][1]

    if not shorten:                     # the most needed first, each one that still fits
        keep = []
        for i in sorted(range(len(pieces)), key=lambda i: pieces[i][1]):
            if pieces[i][1] == 0 or len(joined(sorted(keep + [i]))) <= width:
                keep = sorted(keep + [i])
    while len(joined(keep)) > width and len(keep) > 1 and expendable(keep):
        keep.remove(max(keep, key=lambda i: (pieces[i][1], i)))
    while len(joined(keep)) - slack(keep) > width and len(keep) > 1:
        worst = max(keep, key=lambda i: (pieces[i][1], i))
        if pieces[worst][1] == 0:
            break
        keep.remove(worst)
    texts: dict[int, str] = {}
    while len(joined(keep, texts)) > width:
        over = len(joined(keep, texts)) - width
        longest = max(keep, key=lambda i: len(texts.get(i, pieces[i][0])))
        current = texts.get(longest, pieces[longest][0])
        if len(current) <= 4:           # nothing sensible left to shorten: cut the whole
            return elide_middle(joined(keep, texts), width)
        texts[longest] = elide_middle(current, max(4, len(current) - over))
    return joined(keep, texts)
