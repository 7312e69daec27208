# %% [markdown]
# # Reconstructing the Lorenz-63 attractor with an almost-linear RNN
#
# This notebook trains an AL-RNN (Brenner et al., NeurIPS 2024) on noisy Lorenz-63 data
# with sparse teacher forcing, scores it with the published evaluation protocol, and then
# reads the trained model as a *symbolic* system: which linear subregions the attractor
# visits, in which order, and where the model's fixed points and cycles lie.
#
# Its source is the script `examples/lorenz_alrnn.py` (jupytext percent format);
# `make notebooks` regenerates `notebooks/lorenz_alrnn.ipynb` from it. With the
# environment variable `DYNSYS_SMALL=1` everything runs at a tiny size in about a minute
# (the test suite does this); the numbers are then meaningless. The full run trains an
# ensemble of 5 seeds at once with the reference budget (2000 epochs × 50 batches each),
# which takes roughly 15 min on one CPU core, plus a few minutes for the evaluation.
# Figures and a `metrics.json` go to `$DYNSYS_OUT` (default `outputs/examples/lorenz_alrnn/`).

# %%
import json
import os
import pathlib

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

import dynsys
from dynsys import data, dsr, metrics, systems

SMALL = os.environ.get("DYNSYS_SMALL", "") not in ("", "0")
OUT = pathlib.Path(os.environ.get("DYNSYS_OUT", "outputs/examples/lorenz_alrnn"))
OUT.mkdir(parents=True, exist_ok=True)

N_SEEDS = 2 if SMALL else 5  # ensemble members, trained together
N_STEPS = 3_000 if SMALL else 100_000  # length of the train and of the test trajectory
LYAPUNOV_STEPS = 2_000 if SMALL else 100_000  # QR steps for λ_max: chosen model, true system
MEMBER_LYAPUNOV_STEPS = 2_000 if SMALL else 20_000  # QR steps for λ_max of every member
MAX_CYCLE_PERIOD = 2 if SMALL else 4
N_TOP = 10  # subregions listed in the tables of section 5


def show(fig, name):
    """Save a figure to OUT and display it."""
    fig.savefig(OUT / f"{name}.png", dpi=120)
    plt.show()
    plt.close(fig)


print(f"dynsys {dynsys.__version__}, jax {jax.__version__}, small={SMALL}, outputs in {OUT}/")

# %% [markdown]
# ## 1. Data: the benchmark protocol
#
# `dynsys.data.benchmark("lorenz63")` simulates two trajectories of the Lorenz system
# (σ = 10, ρ = 28, β = 8/3, Δt = 0.01) from independent random initial conditions, in
# float64 with an 8th-order Runge–Kutta method at tolerance 1e-10, drops a transient of
# 1000 samples, and z-scores **both** with the mean and standard deviation of the clean
# training trajectory. The training copy then gets 5 % Gaussian observation noise (as the
# GTF Lorenz-63 training file); the test copy stays clean.
#
# For the metric floors below we also simulate a third, independent trajectory and
# standardise it with the same statistics: it is what a perfect model would generate.

# %%
bench = data.benchmark("lorenz63", n_steps=N_STEPS, seed=0)
stats = data.Standardization.from_metadata(bench.test)
reference = stats.apply(data.generate("lorenz63", n_steps=N_STEPS, transient=1000, seed=1))
dt = bench.test.dt
print(f"train {bench.train.states.shape} (noise {bench.train.metadata['noise']}), "
      f"test {bench.test.states.shape}, dt = {dt}")  # fmt: skip

# %% [markdown]
# ## 2. The model: an almost-linear RNN
#
# The AL-RNN is a map on an M-dimensional latent state,
#
# $$ z_t = A\, z_{t-1} + W\, \Phi^*(z_{t-1}) + h, \qquad
#    \Phi^*(z) = \big(z_1, \dots, z_{M-P},\ \max(0, z_{M-P+1}), \dots, \max(0, z_M)\big), $$
#
# with a diagonal A, a full M×M matrix W and a bias h. Φ* is the identity on the first
# M − P units and a ReLU on the last P units only, so the map is affine on each of at most
# $2^P$ linear **subregions**, one per sign pattern of the P ReLU units. The observation is
# the identity read-out $\hat x_t = z_{1:N,t}$ of the first N = 3 units.
#
# **Why P = 10 and not the paper's P = 2.** The AL-RNN paper reconstructs Lorenz-63 with
# M = 20 latent units of which P = 2 are piecewise linear: at most four subregions.
# `dsr.settings("lorenz63")` keeps M = 20 but uses P = 10 (at most 2¹⁰ = 1024
# subregions), because P = 2 does not reproduce the attractor's geometry with this
# training. Median test D_stsp over 5 seeds (2000 epochs, best checkpoint by training
# D_stsp, `benchmarks/dsr_benchmark.py`):
#
# | P | 2 | 5 | 8 | 10 | 12 | 16 |
# |---|---|---|---|---|---|---|
# | median D_stsp | 3.53 | 1.44 | 0.909 | 0.375 | 0.515 | 0.612 |
#
# At P = 10 these five seeds scored 0.175 to 0.403 (interquartile range 0.370–0.388), the
# median D_H was 0.097 and the median λ_max 0.857 (true: 0.906), and the attractors visited
# 57 of the 1024 subregions (median). Those five seeds were a lucky draw: over 15 seeds
# (three keys, the selection rule of section 3) the median D_stsp is 0.485 (interquartile
# range 0.381–0.605) and the median D_H 0.118, short of the D_stsp ≤ 0.35 we aim for.
# The P = 2 models fail in a specific way: Lorenz's foci C±
# are unstable by only about 0.09 % per step at Δt = 0.01, too little for the
# teacher-forcing loss to see, and the trained P = 2 maps turn them into stable foci, so
# late in training the free runs end on a focus, and the checkpoints that are still
# chaotic draw lobes that are too thin. The measurements are in `docs/benchmarks.md`,
# section "AL-RNN on Lorenz-63: diagnosis". The cost of P = 10 is a less compact symbolic
# description (sections 5 and 6).

# %%
s = dsr.settings("lorenz63")
if SMALL:
    s = s.replace(n_epochs=2, batches_per_epoch=10, sequence_length=50)
ensemble = dsr.make_ensemble(
    lambda k: dynsys.ALRNN(s.latent_dim, s.pwl_units, 3, key=k), jax.random.key(0), N_SEEDS
)
model = dsr.ensemble_member(ensemble, 0)
print(f"AL-RNN: M = {model.latent_dim}, P = {model.pwl_units} (at most "
      f"{2**model.pwl_units} subregions), N = {model.obs_dim}, {model.n_parameters} "
      f"trainable parameters per model, {N_SEEDS} seeds")  # fmt: skip
print(s)

# %% [markdown]
# ## 3. Training with sparse teacher forcing
#
# Each step draws 16 windows of T̃ + 1 = 201 points from the training trajectory, adds
# 5 % Gaussian noise to the batch, and runs the model along each window. Every τ = 16
# steps the first N latent units are **replaced** by the observed data (identity / sparse
# teacher forcing); in between the model runs freely. The loss is the mean squared error
# between the read-out of the free predictions and the data. The gradient is cut at the
# forced units (their values come from the data), so the back-propagation paths through
# the observed units are broken every τ steps, which tames the exploding gradients of a
# chaotic system; τ is chosen well below the predictability time ln 2 / λ_max ≈ 77 steps
# (Mikhaeil et al., NeurIPS 2022).
#
# Optimiser: RAdam, learning rate decaying exponentially per epoch from 1e-3 to 1e-5,
# 2000 epochs of 50 batches. The results vary a lot from seed to seed (0.175 to 0.403 at
# P = 10 above), so one model says little: `dsr.make_ensemble` stacks 5 independently
# initialised models and `dsr.fit(..., ensemble=5)` trains them at once under `jax.vmap`,
# each on its own batches. Model selection: every 10 epochs five free runs of 20 000
# steps from evenly spaced training points, **as many steps in all as the training
# series**, are pooled and scored by D_stsp against it (`n_eval_starts=5`), and each
# member keeps its own best checkpoint (`select="best"`). The AL-RNN reference scores one
# 20 000-step run from the first point against the first 20 000 training points instead;
# at that length the finite-sample floor is above 1, and the longer score ranks the
# checkpoints much more like the test set does. The five starts catch a model with a
# spurious second attractor (a stable cycle beside the chaotic one), which a single run
# may never enter (`docs/benchmarks.md`, section "Checkpoint selection and batch noise at
# P = 10").

# %%
eval_every = s.batches_per_epoch * (1 if SMALL else 10)
res = dsr.fit(
    ensemble, bench.train, key=jax.random.key(1), settings=s, ensemble=N_SEEDS,
    select="best", eval_every=eval_every, n_eval_steps=bench.train.n_times, n_eval_starts=5,
    progress=not SMALL,
)  # fmt: skip
history, evals = res.fit.history, res.fit.eval_history
# Per member (shape (N_SEEDS,)): the lowest training D_stsp of its column in
# evals["d_stsp"] (evaluations × members), and the step it was reached at.
train_d_stsp = np.asarray(res.fit.best_value)
best_steps = np.asarray(res.fit.best_step)
time_per_model = res.fit.wall_time / N_SEEDS
print(f"{N_SEEDS} models × {res.fit.steps} steps in {res.fit.wall_time:.1f} s "
      f"({time_per_model / 60:.1f} min per model)")  # fmt: skip
for i in range(N_SEEDS):
    print(f"  seed {i}: best training D_stsp {train_d_stsp[i]:.3f} after {best_steps[i]} steps")

n_epochs_done = len(history["loss"]) // s.batches_per_epoch
epoch_loss = np.reshape(
    history["loss"][: n_epochs_done * s.batches_per_epoch],
    (n_epochs_done, s.batches_per_epoch, N_SEEDS),
).mean(axis=1)
epoch_end = (np.arange(n_epochs_done) + 1) * s.batches_per_epoch
fig, (ax_loss, ax_eval) = plt.subplots(1, 2, figsize=(10, 3.5))
for i in range(N_SEEDS):
    ax_loss.semilogy(epoch_end, epoch_loss[:, i], lw=0.8, color=f"C{i}", label=f"seed {i}")
    ax_eval.semilogy(evals["step"], evals["d_stsp"][:, i], "o-", ms=2, lw=0.8, color=f"C{i}")
    ax_eval.plot(best_steps[i], train_d_stsp[i], "*", ms=10, color=f"C{i}")
ax_loss.set(xlabel="step", ylabel="training loss (MSE, epoch mean)", title="loss")
ax_loss.legend()
ax_eval.set(xlabel="step", ylabel="D_stsp (training data)",
            title="model selection (★: best checkpoint)")  # fmt: skip
fig.tight_layout()
show(fig, "loss")

# %% [markdown]
# ## 4. Evaluation protocol and metric floors
#
# `dsr.evaluate` follows the GTF/AL-RNN evaluation: generate 1.25·T steps from the
# **first test point**, drop the first 0.25·T as a transient, and compare the remaining T
# steps with the whole test trajectory (T = 100 000):
#
# - **D_stsp**, the state-space divergence KL(p_true ‖ p_gen) of the occupation densities
#   on 30 bins per dimension: does the model visit the same places?
# - **D_H**, the Hellinger distance between Gaussian-smoothed (σ = 20 bins) power spectra,
#   averaged over dimensions: does it have the same time scales?
# - **PE(20)**, the mean squared error of 20-step free predictions from every test point.
# - **λ_max**, the largest Lyapunov exponent of the trained map (QR method on its
#   Jacobians), divided by Δt so it compares with 0.906 per time unit for Lorenz-63
#   (20 000 QR steps for every member, 100 000 for the one analysed below).
#
# A perfect model does not score zero on finite data. The **floors** are the same metrics
# between the test set and an independent true trajectory of the same length (the third
# trajectory above). At T = 100 000, `docs/metrics.md` lists D_stsp ≈ 0.055 ± 0.021 and
# D_H ≈ 0.056 ± 0.010; D_stsp grows fast when T shrinks, so only compare equal lengths.
#
# Every member is scored on the test set. The targets are judged on the **medians over
# the seeds** (an undefined score, from a free run that diverged, counts as the worst):
# D_stsp ≤ 0.35, D_H ≤ 0.12, λ_max within 10 % of 0.906, and at most 10 min of training
# per model. The number of subregions the attractor uses is reported, not judged.
#
# The figures and the symbolic analysis below use one member: the one with the lowest
# **training** D_stsp, the score that model selection already uses, among the members
# whose map has **no real stable fixed point**. Lorenz's three fixed points are all
# unstable; a trained map with a stable one (in our runs: a focus near C± with Jacobian
# radius ≈ 0.994, the failure of the P = 2 models) lets a long free run spiral into it,
# and whether the run from the first test point does so can hang on its round-off. That
# check uses the model alone (`dsr.fixed_points` over all 2^P subregions, about a
# second), never the test data. Picking the member with the best test
# score instead would let the test set choose the model, and its scores would no longer
# be a fair test. The medians above are over every member, whichever is chosen.

# %%
rows = []
for i in range(N_SEEDS):
    member_ev = dsr.evaluate(
        dsr.ensemble_member(res.model, i), bench.test, lyapunov_steps=MEMBER_LYAPUNOV_STEPS
    )
    rows.append({"seed": i, "train_d_stsp": float(train_d_stsp[i]), "d_stsp": member_ev.d_stsp,
                 "d_h": member_ev.d_h, "pe20": member_ev.pe, "lambda_max": member_ev.lambda_max,
                 "subregions": member_ev.n_subregions})  # fmt: skip


def median(key):
    """Median over the seeds of `rows[...][key]`; NaN (undefined) counts as the worst."""
    values = np.array([row[key] for row in rows], dtype=float)
    return float(np.median(np.where(np.isnan(values), np.inf, values)))


medians = {key: median(key) for key in rows[0] if key != "seed"}


def has_stable_fixed_point(m):
    """Whether the map of model `m` has a real fixed point with all |eigenvalues| < 1."""
    fixed = dsr.fixed_points(m)
    return bool(np.any(np.asarray(fixed.is_real) & np.asarray(fixed.is_stable)))


stable_fp = [has_stable_fixed_point(dsr.ensemble_member(res.model, i)) for i in range(N_SEEDS)]
eligible = [i for i in range(N_SEEDS) if not stable_fp[i]] or list(range(N_SEEDS))
chosen = min(eligible, key=lambda i: train_d_stsp[i])
print(f"members with a real stable fixed point: {[i for i in range(N_SEEDS) if stable_fp[i]]}")
print(f"{'seed':<8}{'train D_stsp':>13}{'D_stsp':>9}{'D_H':>8}{'PE(20)':>9}"
      f"{'lambda_max':>12}{'subregions':>12}")  # fmt: skip
for row in [*rows, {"seed": "median", **medians}]:
    mark = "  <- chosen (see above)" if row["seed"] == chosen else ""
    print(f"{row['seed']:<8}{row['train_d_stsp']:13.3f}{row['d_stsp']:9.3f}{row['d_h']:8.3f}"
          f"{row['pe20']:9.4f}{row['lambda_max']:12.3f}{row['subregions']:12g}{mark}")  # fmt: skip

trained = dsr.ensemble_member(res.model, chosen)
ev = dsr.evaluate(trained, bench.test, reference=reference, lyapunov_steps=LYAPUNOV_STEPS)
print(f"\nseed {chosen}, lambda_max from {LYAPUNOV_STEPS} QR steps, with the floors:")
print(ev.summary())

with jax.enable_x64(True):
    true_spectrum = metrics.lyapunov_spectrum(
        systems.Lorenz63(), n_steps=LYAPUNOV_STEPS, transient=LYAPUNOV_STEPS // 10
    )
lam_true = float(true_spectrum.exponents[0])
lam_lit = systems.Lorenz63.reference.exponents[0]
print(f"lambda_max of the true system: {lam_true:.3f} (estimated), {lam_lit} (literature)")

targets = [
    ("D_stsp", medians["d_stsp"], "<= 0.35", medians["d_stsp"] <= 0.35, ev.floors["d_stsp"]),
    ("D_H", medians["d_h"], "<= 0.12", medians["d_h"] <= 0.12, ev.floors["d_h"]),
    ("lambda_max", medians["lambda_max"], "0.906 ± 10 %",
     abs(medians["lambda_max"] - 0.906) <= 0.10 * 0.906, lam_true),
    ("min per model", time_per_model / 60, "<= 10 min", time_per_model <= 600, None),
]  # fmt: skip
print(f"\n{'metric':<15}{'value':>9}  {'target':<14}{'met':<5}{'true system':>12}")
for name, value, target, ok, floor in targets:
    floor_text = "" if floor is None else f"{floor:12.4f}"
    print(f"{name:<15}{value:9.4f}  {target:<14}{'yes' if ok else 'no':<5}{floor_text}")
print(f"(D_stsp, D_H, lambda_max: medians over {N_SEEDS} seeds; minutes per model: the "
      f"ensemble's training time / {N_SEEDS})")  # fmt: skip
print(f"subregions used: median {medians['subregions']:g} of {2**s.pwl_units} possible, "
      f"per seed {[row['subregions'] for row in rows]}")  # fmt: skip
if SMALL:
    print("(DYNSYS_SMALL: tiny training run, the targets are not expected to be met)")

# %% [markdown]
# **What the numbers say.** The medians above are this run's measurement, judged against
# the targets as printed; with 5 seeds they land on either side of a threshold by chance
# (three 5-seed runs of `benchmarks/dsr_selection.py` gave medians 0.392, 0.601 and 0.483;
# 0.485 over all 15 seeds, above the 0.35 we aim for). For comparison, the
# reference P = 2 model of the AL-RNN paper, trained and scored the same way, and the
# clipped shPLRNN are in `docs/benchmarks.md` (section "AL-RNN on Lorenz-63: diagnosis"
# and the reconstruction table).
#
# The generated attractor of the chosen member next to the test data, and their power
# spectra:

# %%
x_test = np.asarray(bench.test.states[0])
generated = np.asarray(ev.generated)
show(dsr.plot_attractor(x_test, generated, title=f"Lorenz-63: test data and AL-RNN (seed "
                        f"{chosen})"), "attractor")  # fmt: skip
show(dsr.plot_power_spectra(x_test, generated, dt=dt, max_frequency=5.0), "power_spectra")

# %% [markdown]
# ## 5. Reading the symbolic code
#
# Each latent state lies in one subregion, named by the sign pattern of the P ReLU units:
# the integer **code** has bit i set when unit M − P + i (0-based) is positive, so the
# codes run from 0 (all ReLUs off: the purely linear region) to 2^P − 1 (all on). With
# P = 10 there are 1024 possible codes; the tables below show the pattern as P digits for
# the units M − P, …, M − 1 from left to right (1: the ReLU is on), so the digit for bit 0
# comes first.
#
# The code sequence of the generated trajectory is a symbolic description of the
# attractor: how much time it spends in each affine piece (the coverage curve: how many
# subregions carry most of the attractor) and which pieces follow each other (the
# transition matrix; its diagonal, P(stay), is the long stays inside one piece). With
# P = 2 the whole attractor has at most four pieces; with P = 10 it is tiled by dozens, so
# the tables list only the most visited subregions and the most frequent switches. The
# transition matrix is built on the visited codes only, relabelled 0, …, R − 1
# (`np.unique(codes, return_inverse=True)`), not on all 2^P codes. The transition graph
# draws every visited subregion, labelled by its code, with an arrow for each switch of
# probability at least 5 %; with dozens of nodes it is dense, and the table of switches
# reads more easily.

# %%
n_bits, n_latent = trained.pwl_units, trained.latent_dim
codes = dsr.symbolic_code(trained, ev.latent)
visits = dsr.subregion_counts(codes)  # visited codes, most visited first
coverage = dsr.coverage_curve(codes)
visited, labels = np.unique(codes, return_inverse=True)  # code visited[j] gets label j
transitions = dsr.transition_matrix(labels, visited.size)
rank = np.empty(visited.size, dtype=int)  # rank[j]: 0 for the most visited code
rank[np.searchsorted(visited, visits.regions)] = np.arange(visited.size)


def pattern_text(code):
    """The P ReLU units M − P, …, M − 1 of a code, left to right, 1 for on."""
    return "".join(str(int(b)) for b in dsr.codes_to_patterns(np.array([code]), n_bits)[0])


print(f"{visited.size} of {2**n_bits} subregions visited by {codes.size} generated steps")
header = f"units {n_latent - n_bits}..{n_latent - 1}"
print(f"\n code  {header:<{max(n_bits, len(header))}}  share of time  P(stay)")
for code, count in zip(visits.regions[:N_TOP], visits.counts[:N_TOP]):
    j = np.searchsorted(visited, code)
    print(f"{code:5d}  {pattern_text(code):<{max(n_bits, len(header))}}"
          f"{count / codes.size:15.3f}{transitions.probabilities[j, j]:9.3f}")  # fmt: skip
if visited.size > N_TOP:
    rest = visits.counts[N_TOP:].sum() / codes.size
    print(f"  ... the other {visited.size - N_TOP} subregions: {rest:.3f} of the time")
n_90, n_99 = (int(np.searchsorted(coverage, q - 1e-12)) + 1 for q in (0.9, 0.99))
print(f"\ncoverage curve, first entries: {np.round(coverage[:N_TOP], 3)}")
print(f"{n_90} subregions carry 90 % of the time, {n_99} carry 99 %")

switches = transitions.counts.copy()
np.fill_diagonal(switches, 0)
order = np.argsort(-switches, axis=None, kind="stable")[:N_TOP]
print("\nmost frequent switches between subregions (from -> to, count, P(to | from)):")
if not switches.any():
    print("  none: the generated trajectory stays in one subregion")
for i, j in zip(*np.unravel_index(order, switches.shape)):
    if switches[i, j] > 0:
        print(f"  {visited[i]:5d} -> {visited[j]:5d}  {switches[i, j]:6d}"
              f"  {transitions.probabilities[i, j]:.3f}")  # fmt: skip

fig, (ax_x, ax_code) = plt.subplots(2, 1, figsize=(10, 4.5), sharex=True)
window = slice(0, min(2000, codes.size))
t = np.arange(codes.size)[window] * dt
ax_x.plot(t, generated[window, 0], lw=0.8)
ax_x.set(ylabel="$x_1$ (generated)")
ax_code.step(t, rank[labels[window]], where="post", lw=0.8)
ax_code.set(xlabel="time", ylabel="subregion rank\n(0: most visited)")
ax_code.invert_yaxis()
fig.tight_layout()
show(fig, "symbolic_code")
show(dsr.plot_subregions(trained, ev.latent), "subregions")
show(dsr.plot_transition_graph(transitions, regions=visited.tolist(), min_probability=0.05),
     "transition_graph")  # fmt: skip

# %% [markdown]
# ## 6. Fixed points and cycles: real vs virtual
#
# On each subregion D the map is affine, z ↦ J_D z + h, so it has a single candidate fixed
# point z* = (I − J_D)⁻¹ h. The candidate is **real** if it lies in D itself (its sign
# pattern is D) and **virtual** otherwise: a virtual fixed point is never reached, but it
# still organises the flow inside D (trajectories spiral around or are pushed away from
# it). Stability follows from the eigenvalues of J_D (stable when all |λ| < 1).
# `dsr.fixed_points` solves for the candidate of every one of the 2^P subregions (1024 at
# P = 10, in about a second); almost all are virtual, so only the real ones are listed,
# with the share of the generated trajectory's time spent in their subregion.
#
# The Lorenz system has three fixed points: the saddle at the origin and two unstable
# saddle-foci C± = (±√(β(ρ−1)), ±√(β(ρ−1)), ρ − 1). Below they are shown in the z-scored coordinates
# of the data, next to the read-out x* (the first N units) of the model's fixed points;
# in a good reconstruction the real ones sit near true fixed points with the same
# character (the foci unstable).
#
# k-cycles (periodic orbits of period k) are solved the same way for sequences of k
# subregions. With 2^P subregions there are 2^(Pk) such sequences: 16 for P = 2 and k = 2,
# which `dsr.find_cycles` enumerates exhaustively, but about 10⁶ already for P = 10 and
# k = 2, beyond its exhaustive limit (2¹⁵ sequences). It then runs the SCYFI heuristic
# (random starting regions, each re-seeded with the regions its candidate visits), which
# may miss cycles: finding none is evidence, not proof. A search takes a few seconds per
# period here, so periods up to 4 are searched. The Lorenz flow has no periodic orbit as
# short as a few Δt, so a real short cycle is an artefact of the model, and a stable one
# would be a spurious attractor.

# %%
lorenz = systems.Lorenz63()
rho, beta = float(lorenz.rho), float(lorenz.beta)
q = np.sqrt(beta * (rho - 1))
FP_NAMES = ["origin", "C+", "C-"]
true_fps = np.array([[0.0, 0.0, 0.0], [q, q, rho - 1], [-q, -q, rho - 1]])
true_fps = np.asarray(stats.apply(jnp.asarray(true_fps, dtype=stats.mean.dtype)))
print("true fixed points (z-scored): origin, C+, C-")
print(np.round(true_fps, 3))

fps = dsr.fixed_points(trained)
real = np.flatnonzero(np.asarray(fps.is_real))
n_virtual = len(fps) - real.size
time_share = dict(zip(visits.regions.tolist(), (visits.counts / codes.size).tolist()))
fp_x = np.asarray(trained.readout(fps.points[real]))
print(f"\n{len(fps)} candidates, one per subregion: {real.size} real, {n_virtual} virtual")
print(f"\n code  {'pattern':<{n_bits}}  stable  max|eig|  read-out x*"
      f"{'':<16}time share  nearest true (distance)")  # fmt: skip
for i, x_star in zip(real, fp_x):
    code = int(fps.codes[i])
    dist = np.linalg.norm(true_fps - x_star, axis=1)
    print(f"{code:5d}  {pattern_text(code):<{n_bits}}  "
          f"{'yes' if bool(fps.is_stable[i]) else 'no':<7}"
          f"{float(fps.spectral_radius[i]):8.3f}  {' '.join(f'{v:7.2f}' for v in x_star):<26}"
          f"{time_share.get(code, 0.0):11.3f}  "
          f"{FP_NAMES[int(np.argmin(dist))]} ({dist.min():.2f})")  # fmt: skip

cycle_counts = {}
for k in range(2, MAX_CYCLE_PERIOD + 1):
    cycles = dsr.find_cycles(trained, k, key=jax.random.key(k))
    cycle_counts[k] = len(cycles)
    stable = int(np.sum(np.asarray(cycles.is_stable)))
    print(f"\n{k}-cycles: {len(cycles)} real found ({stable} stable)")
    for seq, radius in zip(cycles.codes, np.asarray(cycles.spectral_radius)):
        print(f"  code sequence {seq.tolist()}, largest Floquet multiplier {radius:.3g}")

# %% [markdown]
# ## 7. Summary
#
# The per-seed scores, their medians, the chosen seed, the targets (judged on the
# medians), the subregion statistics and the fixed points of the chosen member are written
# to `metrics.json` next to the figures.

# %%
summary = {
    "small": SMALL,
    "epochs": s.n_epochs,
    "pwl_units": s.pwl_units,
    "seeds": N_SEEDS,
    "train_time_s": round(res.fit.wall_time, 1),
    "time_per_model_s": round(time_per_model, 1),
    "per_seed": rows,
    "medians": medians,
    "chosen_seed": chosen,
    "seeds_with_stable_fixed_point": [i for i in range(N_SEEDS) if stable_fp[i]],
    "chosen": {
        "train_d_stsp": float(train_d_stsp[chosen]),
        "d_stsp": ev.d_stsp,
        "d_h": ev.d_h,
        "pe20": ev.pe,
        "lambda_max": ev.lambda_max,
    },
    "lambda_max_true": lam_true,
    "floors": ev.floors,
    "targets_met": {name: bool(ok) for name, _, _, ok, _ in targets},
    "subregions_used": ev.n_subregions,
    "subregion_visits": {int(r): int(n) for r, n in zip(visits.regions, visits.counts)},
    "fixed_points_real": int(real.size),
    "fixed_points_virtual": int(n_virtual),
    "cycles_real": cycle_counts,
}
(OUT / "metrics.json").write_text(json.dumps(summary, indent=2))
print(json.dumps(summary, indent=2))
