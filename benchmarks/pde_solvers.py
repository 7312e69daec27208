"""Accuracy, convergence order, KS spectrum and throughput of the dynsys.pde ETDRK4 solvers.

Side by side with exponax (same grid, same ETDRK4 order 4, same dealiasing) in one process.
Run: .venv/bin/python benchmarks/pde_solvers.py
"""

from __future__ import annotations

import time

import jax

jax.config.update("jax_enable_x64", True)

import exponax as ex  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from dynsys import pde  # noqa: E402
from dynsys.testing import check_stepper, convergence_order  # noqa: E402

L = 2 * np.pi


def cole_hopf(x, t, nu):
    e = np.exp(-nu * t)
    return 2 * nu * e * np.sin(x) / (2 + e * np.cos(x))


def main():
    print("machine: shared 2-core CPU (other jobs running); absolute times are noisy, "
          "ratios measured back to back in one process\n")  # fmt: skip
    # 1. heat, band-limited IC
    n = 64
    x = np.arange(n) * L / n
    u0 = np.sin(x) + 0.5 * np.cos(7 * x)
    s = pde.Heat(1, L, n, dt=0.1, diffusivity=0.2)
    u = pde.repeat(s, jnp.asarray(u0)[None], 100)
    exact = np.exp(-0.2 * 10) * np.sin(x) + 0.5 * np.exp(-0.2 * 49 * 10) * np.cos(7 * x)
    print(f"heat 1-D, N=64, dt=0.1, T=10: max error {np.abs(np.asarray(u[0]) - exact).max():.2e}")
    # 2. Burgers vs Cole-Hopf
    nu = 0.1
    s = pde.Burgers(1, L, n, dt=0.05, diffusivity=nu)
    u = pde.repeat(s, jnp.asarray(cole_hopf(x, 0, nu))[None], 20)
    err = np.abs(np.asarray(u[0]) - cole_hopf(x, 1.0, nu)).max()
    print(f"Burgers 1-D vs Cole–Hopf, ν=0.1, N=64, dt=0.05, T=1: max error {err:.2e}")
    dts = [0.2, 0.1, 0.05, 0.025]
    order, errs = convergence_order(
        lambda dt: pde.Burgers(1, L, n, dt, diffusivity=nu), jnp.asarray(cole_hopf(x, 0, nu))[None],
        1.0, dts, reference=cole_hopf(x, 1.0, nu)[None],
    )  # fmt: skip
    print(
        f"ETDRK4 convergence order (Burgers, dt={dts}): {order:.3f}  errors "
        + ", ".join(f"{e:.2e}" for e in errs)
    )
    order, errs = convergence_order(
        lambda dt: pde.KuramotoSivashinsky(1, 22.0, 64, dt),
        jnp.asarray(np.cos(2 * np.pi * np.arange(64) / 64))[None] * 0.5,
        2.0, [0.2, 0.1, 0.05, 0.025],
    )  # fmt: skip
    print(f"ETDRK4 convergence order (KS L=22, numerical reference dt/8): {order:.3f}")

    # 3. agreement with exponax and KS spectrum
    n, length, dt = 128, 60.0, 0.1
    ours = pde.KuramotoSivashinsky(1, length, n, dt)
    theirs = ex.stepper.KuramotoSivashinsky(1, length, n, dt, order=4)
    u0 = pde.truncated_fourier_series(jax.random.key(0), 1, n, cutoff=5)
    d1 = float(jnp.max(jnp.abs(ours(u0) - theirs(u0))))
    print(f"\nKS 1-D one step, dynsys vs exponax (float64): max |difference| {d1:.2e}")
    burn, m = 2000, 4000
    traj_o = pde.rollout(ours, pde.repeat(ours, u0, burn), m)
    traj_t = ex.rollout(theirs, m, include_init=True)(ex.repeat(theirs, burn)(u0))

    def spectrum(tr):
        return np.mean(np.abs(np.fft.rfft(np.asarray(tr[:, 0]), axis=-1)) ** 2, axis=0) / n**2

    so, st = spectrum(traj_o), spectrum(traj_t)
    k = 2 * np.pi * np.arange(len(so)) / length
    band = (k > 0) & (k < 1.5)
    log_diff = np.abs(np.log10(so[band]) - np.log10(st[band]))
    print(f"KS L=60 N=128 time-averaged energy spectrum ({m} steps after {burn} burn-in):")
    print(
        f"  peak wavenumber dynsys {k[np.argmax(so)]:.3f}, exponax {k[np.argmax(st)]:.3f} "
        "(spectrum of u in the gradient-norm form)"
    )
    print(f"  mean |Δ log10 E(k)| over 0<k<1.5: {log_diff.mean():.3f} (statistical, chaotic)")

    # exponax steppers plug in without an adapter: the conformance suite and time_derivative
    exs = ex.stepper.Burgers(1, L, 32, 0.05, diffusivity=0.1, single_channel=True, order=4)
    report = check_stepper(exs, pde.truncated_fourier_series(jax.random.key(1), 1, 32, cutoff=3),
                           make_stepper=lambda dt: ex.stepper.Burgers(
                               1, L, 32, dt, diffusivity=0.1, single_channel=True, order=4),
                           expected_order=4)  # fmt: skip
    print(
        "\nexponax Burgers stepper through dynsys.testing.check_stepper: "
        + ", ".join(f"{k}={v['ok']}" for k, v in report.items())
        + f" (order {report['convergence']['order']:.2f})"
    )

    # 4. throughput, float32, jit, rollout of 1000 steps
    jax.config.update("jax_enable_x64", False)
    print("\nthroughput (float32, jit, rollout of 1000 steps on lax.scan, best of 5):")
    print("| case | dynsys steps/s | exponax steps/s | ratio |")
    print("|---|---|---|---|")
    for d, n, length in ((1, 256, 60.0), (2, 64, 30.0)):
        ours = pde.KuramotoSivashinsky(d, length, n, 0.1)
        theirs = ex.stepper.KuramotoSivashinsky(d, length, n, 0.1, order=4)
        u0 = pde.truncated_fourier_series(jax.random.key(0), d, n, cutoff=3, dtype=jnp.float32)
        f_o = jax.jit(lambda u, s=ours: pde.rollout(s, u, 1000))
        f_t = jax.jit(lambda u, s=theirs: ex.rollout(s, 1000)(u))
        rates = []
        for f in (f_o, f_t):
            f(u0).block_until_ready()
            best = np.inf
            for _ in range(5):
                t0 = time.perf_counter()
                f(u0).block_until_ready()
                best = min(best, time.perf_counter() - t0)
            rates.append(1000 / best)
        print(f"| KS {d}-D N={n} | {rates[0]:.0f} | {rates[1]:.0f} | {rates[0] / rates[1]:.2f} |")


if __name__ == "__main__":
    main()
