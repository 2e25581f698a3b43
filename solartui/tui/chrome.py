"""The header and footer every screen uses, fitted to the terminal's width.

Why: Textual's footer lists every key and lets the row run off the edge (at 80 columns `f3▏^p
palette`, f4…f7 never seen), and its header cuts the title at the end (`model 0x00102231…`). Here
the footer shows the keys that fit whole — the screen's own first, then Help (f1 / ?, always), then
the app's — and the rest stay in Help and the command palette; the header drops the least needed
parts of the subtitle and shortens long ones in the middle. Both re-fit when the terminal resizes.
"""

from __future__ import annotations

from collections import defaultdict

from textual import events
from textual.widgets import Footer as TextualFooter
from textual.widgets import Header as TextualHeader
from textual.widgets._footer import FooterKey
from textual.widgets._header import HeaderTitle

from solartui.layout_width import Part, choose, fit_text

#: the header's icon (8) and the space balancing it on the right (10)
HEADER_SIDES = 18
#: the subtitle separator the app uses between parts of a device's description
SEP = " · "
HELP_ACTION = "help"


def title_text(title: str, sub_title: str, width: int, pieces=None) -> str:
    """`title — sub_title` in `width` characters: the subtitle's parts (`pieces`: (text,
    priority) pairs, or the subtitle split at ` · `, earlier parts more needed) are dropped or
    shortened in the middle, never cut at the end."""
    if not sub_title:
        return fit_text([(title, 0)], width)
    room = width - len(title) - 3
    if pieces is None:
        pieces = [(p, i) for i, p in enumerate(sub_title.split(SEP))]
    return f"{title} — {fit_text(pieces, max(room, 8))}"


class Header(TextualHeader):
    """Textual's header, its title fitted to its width (and re-fitted on resize)."""

    def format_title(self):
        from textual.content import Content
        width = (self.size.width or self.app.size.width) - HEADER_SIDES
        title, sub = self.screen_title, self.screen_sub_title
        pieces = None
        parts = getattr(self.app, "describe_device_parts", None)
        if parts is not None and sub and sub == getattr(self.app, "describe_device", str)():
            pieces = parts()
        text = title_text(title, sub, width, pieces)
        head, dash, rest = text.partition(" — ")
        if not dash:
            return Content(text)
        return Content.assemble(Content(head), (" — ", "dim"), Content(rest).stylize("dim"))

    def on_resize(self, _event: events.Resize) -> None:
        try:
            self.query_one(HeaderTitle).update(self.format_title())
        except Exception:  # noqa: BLE001 - not composed yet: on_mount sets it
            pass


def key_width(key_display: str, description: str) -> int:
    """Columns a footer key takes: ` key ` then `description ` (Textual's non-compact style)."""
    return len(key_display) + 2 + (len(description) + 1 if description else 0)


class Footer(TextualFooter):
    """A footer that shows only whole keys: the screen's own, Help, then the app's, as fit."""

    def _candidates(self):
        """(binding, enabled, tooltip, rank) for each action once, in footer order."""
        by_action = defaultdict(list)
        screen, app = self.screen, self.app
        for _key, (node, binding, enabled, tooltip) in screen.active_bindings.items():
            if binding.show and binding.description:
                by_action[binding.action].append((node, binding, enabled, tooltip))
        out = []
        for action, found in by_action.items():
            node, binding, enabled, tooltip = found[0]
            rank = 1 if action == HELP_ACTION else (2 if node is app else 0)
            out.append((binding, enabled, tooltip, rank))
        return sorted(out, key=lambda c: c[3])          # stable: each side keeps its order

    def _palette(self):
        if not (self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE):
            return None
        return self.screen.active_bindings.get(self.app.COMMAND_PALETTE_BINDING)

    def fitted(self, width: int):
        """The candidates that fit whole in `width` columns, beside the palette key."""
        cands = self._candidates()
        palette = self._palette()
        room = width
        if palette is not None:
            _node, b, _enabled, _tip = palette
            room -= key_width(self.app.get_key_display(b), b.description) + 2   # border, padding
        parts = []
        for i, (b, _enabled, _tip, rank) in enumerate(cands):
            w = key_width(self.app.get_key_display(b), b.description)
            priority = 0 if rank == 1 else (1 + i if rank == 0 else 100 + i)
            parts.append(Part(str(i), w, priority))
        own = [p for p in parts if p.priority < 100]
        chosen = choose(own, room)
        keep = {int(p.key) for p, _w in chosen}
        used = sum(w for _p, w in chosen)
        for p in parts:                 # the app's keys in their order, up to the first too wide
            if p.priority >= 100:
                if used + p.width > room:
                    break
                keep.add(int(p.key))
                used += p.width
        return [c for i, c in enumerate(cands) if i in keep]

    def compose(self):
        if not self._bindings_ready:
            return
        width = self.app.size.width         # always the full width; a footer under a dialog
        self._fitted_for = width            # is not told of a resize until it shows again
        for binding, enabled, tooltip, _rank in self.fitted(width):
            yield FooterKey(binding.key, self.app.get_key_display(binding), binding.description,
                            binding.action, disabled=not enabled,
                            tooltip=tooltip).data_bind(compact=TextualFooter.compact)
        palette = self._palette()
        if palette is not None:
            _node, binding, enabled, tooltip = palette
            yield FooterKey(binding.key, self.app.get_key_display(binding), binding.description,
                            binding.action, classes="-command-palette", disabled=not enabled,
                            tooltip=binding.tooltip or binding.description)

    def on_resize(self, _event: events.Resize) -> None:
        if self._bindings_ready and self.app.size.width != getattr(self, "_fitted_for", None):
            self.call_after_refresh(self.recompose)
