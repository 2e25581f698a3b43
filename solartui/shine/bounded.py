"""A dict with a cap: what a datalogger may make the server remember.

Why: datalogger registers (0x19 replies, 0x29 parameter dumps) and inverter words arrive keyed by
whatever register number the peer sends, with values as long as it likes; a plain dict grew one
server to 692 MB. A BoundedStore keeps at most `max_entries` and `max_bytes` of its own and
charges every entry to a Budget shared by the whole server; past a cap the oldest entries of the
store that grows go first, and every drop is counted. It is still a dict, so the code and
screens that read registers need not change.
"""

from __future__ import annotations

ENTRY_COST = 64          # what one dict entry with a small key and value costs, roughly (bytes)


class Budget:
    """Bytes charged by every store of one server, and what the caps dropped."""

    def __init__(self, total: int):
        self.total = total
        self.used = 0
        self.dropped = 0


def cost(value) -> int:
    return ENTRY_COST + (len(value) if isinstance(value, (bytes, bytearray, str)) else 0)


class BoundedStore(dict):
    def __init__(self, budget: Budget, max_entries: int, max_bytes: int | None = None):
        super().__init__()
        self.budget = budget
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.used = 0

    def __setitem__(self, key, value) -> None:
        new = cost(value)
        if key in self:
            self._forget(key)                  # re-set: it becomes the newest
        if new > (self.max_bytes or new) or new > self.budget.total:
            self.budget.dropped += 1           # one value bigger than the whole allowance
            return
        while self and (len(self) >= self.max_entries
                        or (self.max_bytes is not None and self.used + new > self.max_bytes)
                        or self.budget.used + new > self.budget.total):
            self._forget(next(iter(self)))
            self.budget.dropped += 1
        if self.budget.used + new > self.budget.total:
            self.budget.dropped += 1           # others hold the budget: this one is not kept
            return
        super().__setitem__(key, value)
        self.used += new
        self.budget.used += new

    def _forget(self, key) -> None:
        spent = cost(super().pop(key))
        self.used -= spent
        self.budget.used -= spent

    def __delitem__(self, key) -> None:
        if key not in self:
            raise KeyError(key)
        self._forget(key)

    def pop(self, key, *default):
        if key in self:
            value = dict.__getitem__(self, key)
            self._forget(key)
            return value
        if default:
            return default[0]
        raise KeyError(key)

    def update(self, *args, **kw) -> None:
        for key, value in dict(*args, **kw).items():
            self[key] = value

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = default
        return self.get(key, default)

    def clear(self) -> None:
        self.budget.used -= self.used
        self.used = 0
        super().clear()

    def popitem(self):
        key = next(reversed(self))
        return key, self.pop(key)
