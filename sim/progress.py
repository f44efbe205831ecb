"""Progress of a long command (run, estimate, sweep) on stderr: a tqdm bar on a terminal and in a
notebook, one plain line every few seconds when stderr is a file or a pipe (CI logs), nothing with
enabled=False (`-q`). Wall-clock time is read here, never inside the model.
"""

from __future__ import annotations

import sys
import time

LINE_EVERY = 5.0  # s of wall time between two plain progress lines


def in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    try:
        return shell is not None and type(shell.get_ipython()).__name__ == "ZMQInteractiveShell"
    except Exception:  # noqa: BLE001 -- any failure means: not a notebook
        return False


class Progress:
    """update(n) as work completes; close() at the end. total=None: a count without an end."""

    def __init__(self, total: float | None, unit: str, label: str, enabled: bool | None = None,
                 initial: float = 0, stream=None, every: float = LINE_EVERY):
        self.stream = stream if stream is not None else sys.stderr
        self.total, self.unit, self.label, self.every = total, unit, label, every
        self.done = initial
        self.started = self.last = time.monotonic()
        self.bar = None
        self.postfix = ""
        self.enabled = enabled is not False
        if not self.enabled:
            return
        interactive = in_notebook() or (hasattr(self.stream, "isatty") and self.stream.isatty())
        if interactive:
            try:
                from tqdm.auto import tqdm
            except ImportError:  # pragma: no cover - tqdm is a dependency
                tqdm = None
            if tqdm is not None:
                self.bar = tqdm(total=total, initial=initial, unit=unit, desc=label, file=self.stream,
                                dynamic_ncols=True, leave=False)

    def update(self, n: float = 1, postfix: str = "") -> None:
        self.done += n
        self.postfix = postfix
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.update(n)
            if postfix:
                self.bar.set_postfix_str(postfix)
            return
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            self.stream.write(self.line(now) + "\n")
            self.stream.flush()

    def line(self, now: float | None = None) -> str:
        elapsed = (now or time.monotonic()) - self.started
        of = f"/{self.total:,.0f}" if self.total else ""
        share = f" ({100 * self.done / self.total:.0f}%)" if self.total else ""
        extra = f", {self.postfix}" if self.postfix else ""
        return f"{self.label}: {self.done:,.0f}{of} {self.unit}{share}{extra}, {elapsed:.0f} s"

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
