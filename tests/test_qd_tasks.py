"""Tasks for quality diversity and novelty (issue 12): behaviour rollouts and
the deceptive maze, against plain-Python references."""

from __future__ import annotations

import math

import numpy as np
import pytest

import pyneat_lite as pn
from pyneat_lite.qd import GaussianEmitter, GridArchive, NoveltyArchive, Scheduler
from pyneat_lite.tasks.behavior import BehaviorRollout
from pyneat_lite.tasks.maze import DeceptiveMaze


# --------------------------------------------------------- behaviour rollouts
def one_by_one(net, env_cls, genome, seed, max_steps):
    """Measures of one genome in its own environment, step by step."""
    env = env_cls()
    obs = env.reset(1, seed)
    ret, xs, angles, vel, torque = 0.0, [], [], [], []
    for _ in range(max_steps):
        out = net.forward_each(genome[None], obs)[0]
        if env.discrete:
            a = float(np.argmax(out))
        else:
            a = -2.0 + (min(max(float(out[0]), -1.0), 1.0) + 1.0) * 2.0
        obs, r, term, _ = env.step([a])
        ret += r[0]
        s = env.state[0]
        xs.append(s[0])
        angles.append(s[2] if env.discrete else 0.0)
        vel.append(s[1])
        torque.append(a)
        if term[0]:
            break
    if env.discrete:
        return ret, (xs[-1], np.mean(angles))
    return ret, (np.mean(vel), np.mean(torque))


@pytest.mark.parametrize("kind", ["cartpole", "pendulum"])
def test_behavior_rollout_matches_rollout_and_a_step_by_step_reference(kind):
    if kind == "cartpole":
        env_cls, net = pn.envs.CartPole, pn.Network([4, 6, 2], ["tanh", "linear"])
    else:
        env_cls, net = pn.envs.Pendulum, pn.Network([3, 6, 1], ["tanh", "tanh"])
    pop = net.init_population(24, seed=2)
    task = BehaviorRollout(net, env_cls(), max_steps=120, seed=5)
    ret, meas = task(pop)
    assert meas.shape == (24, 2)
    np.testing.assert_array_equal(
        ret, pn.envs.rollout(net, pop, env_cls(), max_steps=120, seed=5))
    for i in (0, 7, 23):
        r, m = one_by_one(net, env_cls, pop[i], 5, 120)
        assert ret[i] == r
        np.testing.assert_allclose(meas[i], m, rtol=1e-12, atol=1e-15)
    lo, hi = np.array(task.measure_ranges).T
    assert ((meas >= lo - 0.1) & (meas <= hi + 0.1)).all()


def test_cartpole_repertoire_heatmap(tmp_path):
    net = pn.Network([4, 4, 2], ["tanh", "linear"])
    task = BehaviorRollout(net, pn.envs.CartPole(), max_steps=100, seed=0)
    a = GridArchive(net.n_params, (10, 10), task.measure_ranges)
    em = [GaussianEmitter(a, np.zeros(net.n_params), sigma=0.5, batch_size=32,
                          seed=i) for i in range(2)]
    r = Scheduler(a, em).run(task, generations=15)
    assert r.stats.num_elites >= 20  # distinct behaviours, not one policy
    a.heatmap(tmp_path / "cartpole.png")
    assert (tmp_path / "cartpole.png").stat().st_size > 1000
    with pytest.raises(ValueError, match="CartPole or Pendulum"):
        BehaviorRollout(pn.Network([6, 3], ["linear"]), pn.envs.Acrobot())


# ---------------------------------------------------------------- the maze
def _cross(p, q, a, b):
    def orient(u, v, w):
        x = (v[0] - u[0]) * (w[1] - u[1]) - (v[1] - u[1]) * (w[0] - u[0])
        return 1 if x > 0 else (-1 if x < 0 else 0)

    def on(u, v, w):
        return min(u[0], v[0]) <= w[0] <= max(u[0], v[0]) and \
            min(u[1], v[1]) <= w[1] <= max(u[1], v[1])

    o1, o2, o3, o4 = orient(p, q, a), orient(p, q, b), orient(a, b, p), orient(a, b, q)
    if o1 != o2 and o3 != o4:
        return True
    return (o1 == 0 and on(p, q, a)) or (o2 == 0 and on(p, q, b)) or \
        (o3 == 0 and on(a, b, p)) or (o4 == 0 and on(a, b, q))


def python_robot(maze, genome):
    x, y = maze.start
    for k in range(maze.segments):
        vx = maze.speed * math.tanh(float(genome[2 * k]))
        vy = maze.speed * math.tanh(float(genome[2 * k + 1]))
        for _ in range(maze.steps_per_segment):
            nx, ny = x + vx, y + vy
            if not any(_cross((x, y), (nx, ny), w[:2], w[2:]) for w in maze.walls):
                x, y = nx, ny
    return x, y


def test_maze_kernel_matches_python_and_threads():
    maze = DeceptiveMaze(segments=6, steps_per_segment=8)
    pop = np.random.default_rng(0).normal(0, 2, (40, maze.n_params)).astype(np.float32)
    obj, pos = maze(pop)
    for i in range(0, 40, 5):
        np.testing.assert_array_equal(pos[i], python_robot(maze, pop[i]))
    np.testing.assert_allclose(-obj, np.hypot(*(pos - maze.goal).T), rtol=1e-15)
    inside = (pos >= 0).all() and (pos <= 1).all()
    assert inside  # the arena's walls hold
    p1, p2 = (DeceptiveMaze(segments=6, steps_per_segment=8,
                            n_threads=nt).final_positions(pop) for nt in (1, 2))
    np.testing.assert_array_equal(p1, p2)
    with pytest.raises(ValueError, match="'walls'"):
        DeceptiveMaze(walls=np.zeros((2, 3)))


def run_maze(mode, seed, generations=60):
    maze = DeceptiveMaze()
    es = pn.SepCMAES(n_params=maze.n_params, pop_size=50, sigma=0.5, seed=seed)
    nov = NoveltyArchive(2, k_neighbors=10, novelty_threshold=0.02)
    best = math.inf
    for g in range(generations):
        pop = es.ask()
        obj, meas = maze(pop)
        best = min(best, float(-obj.max()))
        if maze.solved(meas).any():
            return g, best
        es.tell(obj if mode == "objective" else nov.rank(meas))
        nov.add(meas, obj)
    return None, best


@pytest.mark.parametrize("seed", [0, 1])
def test_novelty_solves_the_deceptive_maze_objective_does_not(seed):
    solved_at, _ = run_maze("novelty", seed)
    assert solved_at is not None
    never, best = run_maze("objective", seed)
    assert never is None
    # objective-only search ends against the cup's bottom wall (distance 0.1)
    assert best == pytest.approx(0.1, abs=0.02)
