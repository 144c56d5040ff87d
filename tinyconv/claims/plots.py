"""The experiments' figures: per-epoch curves of several arms on one plot (matplotlib, Agg, no pyplot state)."""
from __future__ import annotations

from matplotlib.figure import Figure

STYLES = ("-", "--", ":")


def plot_curves(arms: dict, keys: dict, path, *, ylabel: str, title: str, target: float | None = None) -> str:
    """One colour per arm (``arms``: label -> :class:`~tinyconv.claims.lab.Arm`), one line style per metric
    (``keys``: metrics column -> its name in the legend), error rates in percent; ``target`` a dotted level."""
    fig = Figure(figsize=(7.5, 4.5))
    ax = fig.subplots()
    for colour, (label, arm) in enumerate(arms.items()):
        for style, (key, what) in zip(STYLES, keys.items()):
            values = [row.get(key) for row in arm.rows]
            ax.plot(arm.column("epoch"), [100 * v if v is not None else None for v in values], style,
                    color=f"C{colour}", label=f"{label}, {what}" if what else label)
    if target is not None:
        ax.axhline(100 * target, color="grey", linestyle=":", linewidth=1)
    ax.set(xlabel="epoch", ylabel=f"{ylabel} (%)", title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path
