"""ADMM retraining towards block-circulant weights (E-RNN).

The constraint "W is block-circulant" is split off into an auxiliary copy
Z that is always exactly block-circulant; the network trains on its own loss
plus rho/2 * ||W - Z + U||^2, and after each epoch (or any number of steps)

    Z = Proj(W + U),   U = U + W - Z,   rho = min(rho * growth, rho_max),

with U then rescaled by the ratio of old to new rho (it is the dual scaled by
1/rho).

As rho rises W is pulled onto Z, so the final hard projection W = Proj(W)
loses little; a short fine-tune that projects after every optimizer step
then recovers the rest. In a training loop::

    admm = ADMM(model, block_size=8)
    for epoch in range(epochs):
        for x, y in batches:
            loss = criterion(model(x), y) + admm.penalty()
            opt.zero_grad(); loss.backward(); opt.step()
        if epoch % 5 == 4:
            admm.update()
    admm.project()   # and after every fine-tune step

Update only after the W-step has made progress (docs/retraining.md: with
5 Adam steps per epoch, an update every epoch never converged; every 5
epochs, it did). The defaults are those of examples/circulant_retraining.py.
"""

from __future__ import annotations

import torch
from torch import nn

from .project import circulant_targets, project_targets, project_tensor


class ADMM:
    def __init__(
        self,
        module: nn.Module,
        block_size: int,
        *,
        rho: float = 1e-2,
        growth: float = 1.5,
        rho_max: float = 1e3,
        linear: bool = False,
    ) -> None:
        if rho <= 0 or growth < 1 or rho_max < rho:
            raise ValueError(
                f"need 0 < rho <= rho_max and growth >= 1 (rho={rho}, growth={growth})"
            )
        self.targets = circulant_targets(module, block_size, linear=linear)
        self.rho = rho
        self.growth = growth
        self.rho_max = rho_max
        with torch.no_grad():
            self.z = [project_tensor(t.param, t.blocking) for t in self.targets]
            self.u = [torch.zeros_like(t.param) for t in self.targets]

    def penalty(self) -> torch.Tensor:
        """rho/2 * sum ||W - Z + U||^2, differentiable in W."""
        total = torch.zeros(())
        for t, z, u in zip(self.targets, self.z, self.u):
            total = total + (t.param - z + u).pow(2).sum()
        return 0.5 * self.rho * total

    @torch.no_grad()
    def update(self) -> None:
        """The Z and U steps, then the next rho."""
        rho = min(self.rho * self.growth, self.rho_max)
        for i, t in enumerate(self.targets):
            self.z[i] = project_tensor(t.param + self.u[i], t.blocking)
            self.u[i] += t.param - self.z[i]
            # U is the dual scaled by 1/rho: keep the dual itself when rho changes
            self.u[i] *= self.rho / rho
        self.rho = rho

    @torch.no_grad()
    def residual(self) -> float:
        """Largest relative distance ||W - Z|| / ||W|| over the targets."""
        worst = 0.0
        for t, z in zip(self.targets, self.z):
            norm = float(t.param.norm())
            worst = max(worst, float((t.param - z).norm()) / norm if norm else 0.0)
        return worst

    def project(self) -> None:
        """Hard projection: every target becomes exactly block-circulant."""
        project_targets(self.targets)
