"""Numba kernel of the deceptive maze: a point robot among wall segments.

No validation here (``pyneat_lite.tasks.maze`` validates once).  Each genome
is an open-loop controller: ``segments`` pairs of values, each squashed by
tanh into a velocity held for ``steps_per_segment`` steps; a step that would
cross a wall is not taken (the robot stops against it).  Robots are
independent rows, so the result does not depend on the thread count.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ._config import EXACT_INLINE_OPTS, EXACT_OPTS

__all__ = ["maze_rollout"]


@njit(**EXACT_INLINE_OPTS)
def _orient(ax, ay, bx, by, cx, cy):
    v = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)
    return 1 if v > 0.0 else (-1 if v < 0.0 else 0)


@njit(**EXACT_INLINE_OPTS)
def _on(ax, ay, bx, by, cx, cy):
    return min(ax, bx) <= cx <= max(ax, bx) and min(ay, by) <= cy <= max(ay, by)


@njit(**EXACT_INLINE_OPTS)
def _crosses(ax, ay, bx, by, cx, cy, dx, dy):
    """Whether segment AB meets segment CD (touching counts)."""
    o1 = _orient(ax, ay, bx, by, cx, cy)
    o2 = _orient(ax, ay, bx, by, dx, dy)
    o3 = _orient(cx, cy, dx, dy, ax, ay)
    o4 = _orient(cx, cy, dx, dy, bx, by)
    if o1 != o2 and o3 != o4:
        return True
    return ((o1 == 0 and _on(ax, ay, bx, by, cx, cy))
            or (o2 == 0 and _on(ax, ay, bx, by, dx, dy))
            or (o3 == 0 and _on(cx, cy, dx, dy, ax, ay))
            or (o4 == 0 and _on(cx, cy, dx, dy, bx, by)))


@njit(**EXACT_INLINE_OPTS)
def _robot(pop, i, walls, start, speed, steps, out):
    x = start[0]
    y = start[1]
    n_seg = pop.shape[1] // 2
    for k in range(n_seg):
        vx = speed * math.tanh(np.float64(pop[i, 2 * k]))
        vy = speed * math.tanh(np.float64(pop[i, 2 * k + 1]))
        for _ in range(steps):
            nx = x + vx
            ny = y + vy
            blocked = False
            for w in range(walls.shape[0]):
                if _crosses(x, y, nx, ny, walls[w, 0], walls[w, 1], walls[w, 2],
                            walls[w, 3]):
                    blocked = True
                    break
            if not blocked:
                x = nx
                y = ny
    out[i, 0] = x
    out[i, 1] = y


@njit(**EXACT_OPTS)
def _rollout_seq(pop, walls, start, speed, steps, out):
    for i in range(pop.shape[0]):
        _robot(pop, i, walls, start, speed, steps, out)


@njit(parallel=True, **EXACT_OPTS)
def _rollout_par(pop, walls, start, speed, steps, out, n_chunks):
    n = pop.shape[0]
    for c in prange(n_chunks):
        for i in range(c * n // n_chunks, (c + 1) * n // n_chunks):
            _robot(pop, i, walls, start, speed, steps, out)


def maze_rollout(pop, walls, start, speed, steps, out, n_threads):
    """Final position of every robot: pop float32 (P, 2 * segments); walls
    float64 (W, 4) as (x0, y0, x1, y1); start float64 (2,); out float64
    (P, 2)."""
    if n_threads > 1:
        _rollout_par(pop, walls, start, speed, steps, out,
                     min(n_threads, pop.shape[0]))
    else:
        _rollout_seq(pop, walls, start, speed, steps, out)
