"""``torch.optim.SGD`` and its two momentum variants: :func:`sgd`, :func:`momentum`, :func:`nesterov`."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._base import as_float_array, pure_step, rule_factory

__all__ = ["SGDState", "MomentumState", "sgd", "momentum", "nesterov"]


class SGDState(NamedTuple):
    """``t``: steps taken so far. Plain SGD keeps nothing else."""

    t: int


class MomentumState(NamedTuple):
    """``t``: steps taken so far; ``v``: the velocity v_t (zeros before the first step)."""

    t: int
    v: np.ndarray


def _velocity(v_prev: np.ndarray, g: np.ndarray, t: int, mu: float, tau: float) -> np.ndarray:
    """New velocity ``v_1 = g_1``, ``v_t = mu v_{t-1} + (1 - tau) g_t`` (t >= 2), as a new array."""
    if t == 1:
        return g.copy()
    v = np.multiply(v_prev, mu)
    v += g if tau == 0 else (1.0 - tau) * g
    return v


def _sgd_rule(lr, momentum, dampening, weight_decay, nesterov, maximize):
    """``(init, step)`` of ``torch.optim.SGD`` with these arguments (see :func:`sgd`)."""
    if nesterov and (momentum <= 0 or dampening != 0):
        raise ValueError(
            "nesterov requires momentum > 0 and dampening = 0 (as torch.optim.SGD with "
            f"nesterov=True), got momentum={momentum!r}, dampening={dampening!r}"
        )

    if momentum == 0:  # like torch, keep no velocity and ignore dampening

        def init(w) -> SGDState:
            as_float_array(w, "w")
            return SGDState(t=0)

        @pure_step(SGDState, lr, weight_decay=weight_decay, maximize=maximize)
        def step(w, g, state, eta):
            w_new = np.multiply(g, -eta)  # - eta g_t
            w_new += w  # w_t = w_{t-1} - eta g_t
            return w_new, SGDState(t=state.t + 1)

        return init, step

    mu, tau = float(momentum), float(dampening)

    def init(w) -> MomentumState:
        return MomentumState(t=0, v=np.zeros_like(as_float_array(w, "w")))

    @pure_step(MomentumState, lr, weight_decay=weight_decay, maximize=maximize)
    def step(w, g, state, eta):
        t = state.t + 1
        v = _velocity(state.v, g, t, mu, tau)  # v_t
        if nesterov:
            w_new = np.multiply(v, mu)  # mu v_t
            w_new += g  # g_t + mu v_t
            w_new *= -eta
        else:
            w_new = np.multiply(v, -eta)
        w_new += w  # w_t = w_{t-1} - eta (g_t + mu v_t) or w_{t-1} - eta v_t
        return w_new, MomentumState(t=t, v=v)

    return init, step


@rule_factory
def sgd(lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, *,
        maximize=False):
    r"""Stochastic gradient descent (Robbins & Monro 1951), ``torch.optim.SGD``.

    Update at step t (first step t = 1) with gradient g_t of the loss at w_{t-1}::

        g_t <- -g_t                            (only if maximize)
        g_t <- g_t + lambda * w_{t-1}          (only if lambda != 0)
        w_t  = w_{t-1} - eta * g_t             (momentum mu = 0)

    With ``momentum`` mu > 0 this is heavy-ball momentum (:func:`momentum`), with
    ``nesterov=True`` as well Nesterov momentum (:func:`nesterov`): all three are the one
    ``torch.optim.SGD``, and those two factories only change the defaults.

    Args:
        lr: eta, a number >= 0 or a schedule ``lr(k)`` with k = t - 1 steps already taken.
        momentum: mu in [0, 1) (0: plain SGD, no velocity is kept).
        dampening: tau in [0, 1), see :func:`momentum`; ignored when mu = 0.
        weight_decay: lambda >= 0, an L2 penalty (lambda/2)||w||^2 folded into g.
        nesterov: Nesterov's form of the momentum step (needs mu > 0 and tau = 0).
        maximize: ascend the objective (the gradient's sign is flipped first).

    Returns:
        Rule ``"sgd"`` with state :class:`SGDState` (``t``), or :class:`MomentumState`
        (``t``, ``v``) when mu > 0.

    The step does not normalise the gradient: a gradient of size 1e30 moves ``w`` by
    ``eta * 1e30`` (finite in float64, but rarely what you want).
    """
    return _sgd_rule(lr, momentum, dampening, weight_decay, nesterov, maximize)


@rule_factory
def momentum(lr=1e-3, momentum=0.9, dampening=0.0, weight_decay=0.0, *, maximize=False):
    r"""Heavy-ball momentum (Polyak 1964), ``torch.optim.SGD(momentum=mu, dampening=tau)``.

    :func:`sgd` with ``momentum=0.9`` by default. Update at step t (first step t = 1) with
    gradient g_t at w_{t-1}, mu = momentum, tau = dampening::

        g_t <- -g_t                                 (only if maximize)
        g_t <- g_t + lambda * w_{t-1}               (only if lambda != 0)
        v_1  = g_1                                  (first step: the velocity is the gradient)
        v_t  = mu * v_{t-1} + (1 - tau) * g_t       (t >= 2)
        w_t  = w_{t-1} - eta * v_t

    Two conventions meet here.

    * ``tau = 0`` (default, torch, Sutskever et al. 2013): v_t = sum_s mu^(t-s) g_s, a sum
      whose weights add up to at most 1/(1 - mu).
    * ``tau = mu`` (exponential moving average, "EMA momentum"): v_t averages past
      gradients. An EMA started at zero, m_t = mu m_{t-1} + (1 - mu) g_t with m_0 = 0, is
      exactly (1 - mu) times the ``tau = 0`` velocity, so EMA momentum with learning rate
      ``eta_ema = eta / (1 - mu)`` takes *the same steps* as ``tau = 0`` with ``eta``.
      torch (and this rule) start the damped velocity at v_1 = g_1, i.e. the EMA initialised
      at m_0 = g_1 rather than 0. For a given gradient sequence this adds mu^t g_1 to v_t,
      so the two parameterisations differ by a transient,
      ``w_t(tau=mu, eta_ema) = w_t(tau=0, eta) - eta_ema * mu * (1 - mu^t) / (1 - mu) * g_1``,
      which stops growing after about 1/(1 - mu) steps. The exactly equivalent zero-started
      EMA is obtained by rescaling instead: ``momentum(lr=eta_ema * (1 - mu))``.

    With ``mu = 0`` this is plain SGD and ``tau`` is ignored, as in torch.

    Args:
        lr: eta, a number >= 0 or a schedule ``lr(k)`` with k = t - 1 steps already taken.
        momentum: mu in [0, 1).
        dampening: tau in [0, 1).
        weight_decay: lambda >= 0 (L2 penalty folded into g).
        maximize: ascend the objective (the gradient's sign is flipped first).

    Returns:
        Rule ``"momentum"`` with state :class:`MomentumState` (``t``, ``v``); with mu = 0
        :class:`SGDState`.
    """
    return _sgd_rule(lr, momentum, dampening, weight_decay, False, maximize)


@rule_factory
def nesterov(lr=1e-3, momentum=0.9, dampening=0.0, weight_decay=0.0, *, maximize=False):
    r"""Nesterov momentum (Nesterov 1983; Sutskever et al. 2013), ``torch.optim.SGD(nesterov=True)``.

    :func:`sgd` with ``momentum=0.9, nesterov=True``. Update at step t (first step t = 1)
    with gradient g_t at w_{t-1}, mu = momentum::

        g_t <- -g_t                                (only if maximize)
        g_t <- g_t + lambda * w_{t-1}              (only if lambda != 0)
        v_1  = g_1,   v_t = mu * v_{t-1} + g_t     (t >= 2)
        w_t  = w_{t-1} - eta * (g_t + mu * v_t)

    The classic form (Sutskever et al. 2013) takes the gradient at the look-ahead point
    w_{t-1} - eta * mu * v_{t-1}. Tracking the look-ahead point itself as the parameters
    turns it into the update above, where the gradient is taken at the stored parameters
    (this is the form torch uses). Compared with heavy ball the step is g_t + mu * v_t
    instead of v_t: the fresh gradient is applied once more, and the velocity "one step
    ahead".

    Args:
        lr: eta, a number >= 0 or a schedule ``lr(k)`` with k = t - 1 steps already taken.
        momentum: mu in (0, 1); torch requires mu > 0 for Nesterov.
        dampening: must be 0 (torch forbids dampening with Nesterov); kept so the keywords
            are torch's.
        weight_decay: lambda >= 0 (L2 penalty folded into g).
        maximize: ascend the objective (the gradient's sign is flipped first).

    Returns:
        Rule ``"nesterov"`` with state :class:`MomentumState` (``t``, ``v``).
    """
    return _sgd_rule(lr, momentum, dampening, weight_decay, True, maximize)
