"""k-cycles of piecewise-linear RNNs: exhaustive region sequences or the SCYFI search.

SCYFI (Eisenmann et al., NeurIPS 2023) finds the k-cycles of ReLU RNNs by guessing the
sequence of linear regions an orbit visits, solving the resulting linear equation for a
candidate, and re-seeding with the regions the candidate actually visits. Re-derived here
for any [`AbstractPLRNN`][], with all candidate solves of a round vmapped and jit-compiled.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Complex, Float, PRNGKeyArray

from .._validation import check_int, check_positive
from ._abstract import AbstractPLRNN
from ._initialization import uniform
from ._symbolic import codes_to_patterns, patterns_to_codes


class Cycles(eqx.Module):
    """Distinct k-cycles of a PL map (each listed once, from one of its k points).

    **Fields** (n = number of cycles, k = period):

    - `points`: `(n, k, M)`, the cycle z₁ → z₂ → … → z_k → z₁.
    - `patterns`: `(n, k, n_bits)` bool, the region of each point.
    - `is_real`: `(n,)`, True for true cycles of the map; False for *virtual* ones (the
      closed orbit of the assumed affine pieces leaves the assumed regions), only present
      with `include_virtual=True`.
    - `eigenvalues`: `(n, M)` complex, eigenvalues of the Jacobian product
      J_{D_k} ⋯ J_{D_1} along the cycle (its Floquet multipliers).
    - `is_stable`: `(n,)`, max |eigenvalue| < 1.
    - `residual`: `(n,)`, max |F^k(z₁) − z₁| under the true map (≈ 0 for real cycles).
    """

    points: Float[Array, "n k latent"]
    patterns: Bool[Array, "n k bits"]
    is_real: Bool[Array, " n"]
    eigenvalues: Complex[Array, "n latent"]
    is_stable: Bool[Array, " n"]
    residual: Float[Array, " n"]

    def __len__(self) -> int:
        return int(self.points.shape[0])

    @property
    def period(self) -> int:
        """k, the period of the cycles."""
        return int(self.points.shape[1])

    @property
    def codes(self) -> np.ndarray:
        """Integer region codes `(n, k)` (see `symbolic_code`)."""
        return patterns_to_codes(np.asarray(self.patterns))

    @property
    def spectral_radius(self) -> Float[Array, " n"]:
        """Largest Floquet multiplier modulus of each cycle, `(n,)`."""
        return jnp.max(jnp.abs(self.eigenvalues), axis=-1)

    def real(self) -> Cycles:
        """The same record restricted to the true cycles."""
        keep = np.asarray(self.is_real)
        return jax.tree_util.tree_map(lambda x: x[keep], self)


def _default_outer(k: int) -> int:
    return 10 if k < 8 else 40 if k < 30 else 100


def _default_inner(k: int) -> int:
    return 20 if k < 3 else 60 if k < 6 else 300 if k < 8 else 1080 if k < 20 else 1115


def find_cycles(
    model: AbstractPLRNN,
    k: int,
    *,
    key: PRNGKeyArray | None = None,
    n_outer: int | None = None,
    n_inner: int | None = None,
    n_chains: int = 8,
    max_exhaustive: int = 2**15,
    include_virtual: bool = False,
    box: float = 10.0,
    tol: float | None = None,
) -> Cycles:
    """Find the k-cycles (minimal period exactly k) of a piecewise-linear RNN.

    For an assumed region sequence D₁, …, D_k the k-fold map is affine,
    F^k(z) = P z + q with P = J_k ⋯ J₁ and q = Σ_i J_k ⋯ J_{i+1} c_i ((J_i, c_i) =
    `model.affine_piece(D_i)`), so the only candidate is z₁ = (I − P)⁻¹ q. Its orbit
    z_{i+1} = J_i z_i + c_i is a true cycle when every z_i lies in D_i. Candidates whose
    points repeat with a smaller period (lower-order cycles) are dropped.

    - **Exhaustive** (when (2^n_bits)^k ≤ `max_exhaustive`, e.g. an AL-RNN with few ReLU
      units): every region sequence up to rotation is solved, which finds *all* k-cycles
      (except degenerate continua where I − P is singular). No key needed.
    - **SCYFI heuristic** (otherwise): `n_chains` parallel chains start from the regions
      of random points in [−box, box]^M; a chain whose candidate visits other regions is
      re-seeded with those regions, for at most `n_inner` steps; a chain that finds a
      cycle or runs out of steps restarts from a random seed. The search stops after
      `n_outer` restarts in a row without a new cycle. Defaults for `n_outer` / `n_inner`
      follow the SCYFI paper (10/40/100 and 20/60/300/1080/1115 by k). It may miss cycles.

    Cycles are de-duplicated exactly by their region sequence up to rotation (a true
    cycle has one such sequence), and each is reported from the rotation whose sequence
    is smallest.

    **Arguments:**

    - `model`: any [`AbstractPLRNN`][] (autonomous map; inputs are not applied).
    - `k`: the period (≥ 1; k = 1 gives the real fixed points).
    - `key`: PRNG key, needed for the heuristic search.
    - `n_outer`, `n_inner`: SCYFI iteration limits (see above).
    - `n_chains`: number of chains solved together per round (heuristic search).
    - `max_exhaustive`: the most region sequences for the exhaustive search.
    - `include_virtual`: also return the virtual cycles met (all of them when exhaustive).
    - `box`: half-width of the box random seed points are drawn from.
    - `tol`: relative tolerance for "the orbit returns earlier" (lower-order cycles);
      default √eps of the model dtype, scaled by 1 + max|z|.

    **Returns:** [`Cycles`][], real cycles first.

    ```python
    model = ALRNN(10, 2, 3, key=jax.random.key(0))
    two_cycles = find_cycles(model, 2)                           # exhaustive: 4² sequences
    big = PLRNN(30, 3, key=jax.random.key(1))
    found = find_cycles(big, 3, key=jax.random.key(2))           # SCYFI search
    ```
    """
    if not isinstance(model, AbstractPLRNN):
        raise TypeError(f"`model` must be an AbstractPLRNN, got {type(model).__name__}.")
    k = check_int(k, "k", minimum=1)
    n_outer = _default_outer(k) if n_outer is None else check_int(n_outer, "n_outer", minimum=1)
    n_inner = _default_inner(k) if n_inner is None else check_int(n_inner, "n_inner", minimum=1)
    n_chains = check_int(n_chains, "n_chains", minimum=1)
    max_exhaustive = check_int(max_exhaustive, "max_exhaustive", minimum=0)
    check_positive(box, "box")
    if tol is None:
        tol = float(np.sqrt(np.finfo(model.dtype).eps))
    check_positive(tol, "tol")

    n_bits = model.n_region_bits
    store = _CycleStore(k, tol, include_virtual)
    if n_bits * k <= 62 and 2 ** (n_bits * k) <= max_exhaustive:
        _exhaustive(model, k, n_bits, store)
    else:
        if key is None:
            raise ValueError(
                f"The model has (2^{n_bits})^{k} region sequences, more than "
                f"`max_exhaustive`={max_exhaustive}, so the heuristic search runs and needs "
                "`key=jax.random.key(...)`."
            )
        _scyfi_search(model, k, key, n_outer, n_inner, n_chains, box, store)
    return store.result(model)


class _CycleStore:
    """Collects candidate cycles on the host, de-duplicated by canonical region sequence."""

    def __init__(self, k: int, tol: float, include_virtual: bool) -> None:
        self.k = k
        self.tol = tol
        self.include_virtual = include_virtual
        self.entries: dict[bytes, tuple] = {}

    def offer(self, points, patterns, consistent, monodromy, residual) -> bool:
        """Record the candidate solved for the region sequence `patterns`; True if new and real."""
        if not np.all(np.isfinite(points)):
            return False
        if not (consistent or self.include_virtual) or self._lower_order(points, patterns):
            return False
        shift, key = _canonical_rotation(patterns)
        if key in self.entries and (self.entries[key][2] or not consistent):
            return False
        self.entries[key] = (
            np.roll(points, -shift, axis=0),
            np.roll(patterns, -shift, axis=0),
            bool(consistent),
            monodromy,
            residual,
        )
        return bool(consistent)

    def _lower_order(self, points, patterns) -> bool:
        scale = self.tol * (1.0 + np.max(np.abs(points)))
        for d in range(1, self.k):
            if self.k % d:
                continue
            if np.array_equal(np.roll(patterns, -d, axis=0), patterns):
                return True
            if np.max(np.abs(points[d] - points[0])) <= scale:
                return True
        return False

    def result(self, model: AbstractPLRNN) -> Cycles:
        m, n_bits, dtype = model.latent_dim, model.n_region_bits, model.dtype
        items = sorted(self.entries.items(), key=lambda kv: (not kv[1][2], kv[0]))
        if not items:
            cdtype = np.result_type(np.dtype(dtype), np.complex64)
            return Cycles(
                points=jnp.zeros((0, self.k, m), dtype=dtype),
                patterns=jnp.zeros((0, self.k, n_bits), dtype=bool),
                is_real=jnp.zeros((0,), dtype=bool),
                eigenvalues=jnp.zeros((0, m), dtype=cdtype),
                is_stable=jnp.zeros((0,), dtype=bool),
                residual=jnp.zeros((0,), dtype=dtype),
            )
        points, patterns, real, monodromy, residual = (
            np.stack(x) for x in zip(*(v for _, v in items))
        )
        eigenvalues = jnp.linalg.eigvals(jnp.asarray(monodromy))
        return Cycles(
            points=jnp.asarray(points),
            patterns=jnp.asarray(patterns),
            is_real=jnp.asarray(real),
            eigenvalues=eigenvalues,
            is_stable=jnp.max(jnp.abs(eigenvalues), axis=-1) < 1,
            residual=jnp.asarray(residual),
        )


def _canonical_rotation(patterns: np.ndarray) -> tuple[int, bytes]:
    """The rotation making the region sequence smallest, and that sequence as a key.

    Sequences compare by their integer codes (big-endian bytes sort like the numbers), or
    by the packed bits when the codes would not fit in 62 bits.
    """
    k, n_bits = patterns.shape
    if n_bits <= 62:
        rows = patterns_to_codes(patterns).astype(">i8")
        keys = [np.roll(rows, -r).tobytes() for r in range(k)]
    else:
        keys = [np.packbits(np.roll(patterns, -r, axis=0), axis=-1).tobytes() for r in range(k)]
    shift = min(range(k), key=keys.__getitem__)
    return shift, keys[shift]


@eqx.filter_jit
def _cycle_candidates(model: AbstractPLRNN, sequences):
    """Solve the candidate of each region sequence `(B, k, n_bits)`, vmapped."""
    m = model.latent_dim
    eye = jnp.eye(m, dtype=model.dtype)

    def one(sequence):
        jacs, offsets = jax.vmap(model.affine_piece)(sequence)

        def compose(carry, piece):
            p, q = carry
            jac, offset = piece
            return (jac @ p, jac @ q + offset), None

        init = (eye, jnp.zeros(m, dtype=model.dtype))
        (monodromy, q), _ = jax.lax.scan(compose, init, (jacs, offsets))
        z1 = jnp.linalg.solve(eye - monodromy, q)

        def orbit(z, piece):
            jac, offset = piece
            return jac @ z + offset, z

        _, points = jax.lax.scan(orbit, z1, (jacs, offsets))
        realised = jax.vmap(model.activation_pattern)(points)
        consistent = jnp.all(realised == sequence) & jnp.all(jnp.isfinite(points))

        def true_step(z, _):
            return model.step(z), None

        zk, _ = jax.lax.scan(true_step, z1, None, length=sequence.shape[0])
        residual = jnp.max(jnp.abs(zk - z1))
        return points, realised, consistent, monodromy, residual

    return jax.vmap(one)(sequences)


def _offer_batch(store: _CycleStore, sequences, outputs, n_valid: int) -> np.ndarray:
    points, _, consistent, monodromy, residual = (np.asarray(x) for x in outputs)
    new = np.zeros(n_valid, dtype=bool)
    for b in range(n_valid):
        new[b] = store.offer(points[b], sequences[b], consistent[b], monodromy[b], residual[b])
    return new


def _exhaustive(model: AbstractPLRNN, k: int, n_bits: int, store: _CycleStore) -> None:
    n_regions = 2**n_bits
    digits = _aperiodic_necklaces(n_regions, k)
    if digits.shape[0] == 0:
        return
    sequences = codes_to_patterns(digits, n_bits)  # (S, k, n_bits)
    m = model.latent_dim
    max_chunk = int(max(64, min(4096, 2**23 // (m * m * (k + 2)))))
    for start in range(0, sequences.shape[0], max_chunk):
        block = sequences[start : start + max_chunk]
        n_valid = block.shape[0]
        # Pad to a power of two (at least 8, the default number of chains) so that repeated
        # searches reuse a few compiled shapes.
        size = min(max_chunk, max(8, 1 << (n_valid - 1).bit_length()))
        if size > n_valid:
            block = np.concatenate([block, np.repeat(block[:1], size - n_valid, axis=0)])
        _offer_batch(store, block, _cycle_candidates(model, jnp.asarray(block)), n_valid)


def _aperiodic_necklaces(n: int, k: int) -> np.ndarray:
    """All length-k words over {0..n−1} that are strictly smaller than each of their
    non-trivial rotations (one per rotation class, periodic words excluded), `(S, k)`."""
    words = np.arange(n**k, dtype=np.int64)
    powers = n ** np.arange(k - 1, -1, -1, dtype=np.int64)
    digits = (words[:, None] // powers) % n  # most significant digit first
    keep = np.ones(words.shape[0], dtype=bool)
    for r in range(1, k):
        rotated = np.roll(digits, -r, axis=1) @ powers
        keep &= words < rotated
    return digits[keep]


def _random_sequences(model: AbstractPLRNN, key, n: int, k: int, box: float) -> np.ndarray:
    """Region sequences `(n, k, n_bits)` of points drawn uniformly in [−box, box]^M.

    Sampling points (rather than bits) only proposes regions that exist, which matters
    for the shPLRNN, whose 2^L hidden patterns are mostly infeasible (SCYFI's pool).
    """
    z = uniform(key, (n, k, model.latent_dim), box, model.dtype)
    return np.array(_patterns_of(model, z))


@eqx.filter_jit
def _patterns_of(model: AbstractPLRNN, z):
    return jax.vmap(jax.vmap(model.activation_pattern))(z)


def _scyfi_search(
    model: AbstractPLRNN,
    k: int,
    key: PRNGKeyArray,
    n_outer: int,
    n_inner: int,
    n_chains: int,
    box: float,
    store: _CycleStore,
) -> None:
    key, sub = jax.random.split(key)
    sequences = _random_sequences(model, sub, n_chains, k, box)
    steps = np.zeros(n_chains, dtype=np.int64)
    restarts_without_new = 0
    while restarts_without_new < n_outer:
        outputs = _cycle_candidates(model, jnp.asarray(sequences))
        if np.any(_offer_batch(store, sequences, outputs, n_chains)):
            restarts_without_new = 0
        points, realised, consistent = (np.asarray(x) for x in outputs[:3])
        finite = np.all(np.isfinite(points), axis=(1, 2))
        stuck = np.all(realised == sequences, axis=(1, 2))
        steps += 1
        restart = consistent | ~finite | stuck | (steps >= n_inner)
        follow = ~restart
        sequences[follow] = realised[follow]
        if np.any(restart):
            key, sub = jax.random.split(key)
            fresh = _random_sequences(model, sub, n_chains, k, box)
            sequences[restart] = fresh[restart]
            steps[restart] = 0
            restarts_without_new += int(restart.sum())
