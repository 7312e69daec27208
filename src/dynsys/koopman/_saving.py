"""Registration of the fitted Koopman results with `dynsys.save` / `dynsys.load`.

A fitted result is a module of arrays, a few static numbers and perhaps nested registered
parts (a dictionary, a kernel, an inner result). Its hyper-parameters record each array's
shape and dtype, the static numbers and the nested parts' descriptions; the template is the
result built from zero arrays of those shapes, whose leaves `load` then overwrites.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._serialization import describe, register_loadable, template_from


def _array_spec(array: Any) -> dict:
    return {"shape": list(array.shape), "dtype": np.dtype(array.dtype).name}


def _zeros(spec: dict) -> jax.Array:
    # The dtype JAX holds now: a float64 file read with x64 off is built as float32 (and
    # complex128 as complex64), without a truncation warning.
    dtype = jax.dtypes.canonicalize_dtype(np.dtype(spec["dtype"]))
    return jnp.zeros(tuple(spec["shape"]), dtype=dtype)


def register_result(
    cls: type,
    *,
    arrays: Sequence[str],
    static: Sequence[str] = (),
    nested: Sequence[str] = (),
    describe_nested: Any = describe,
) -> None:
    """Register a fitted result whose constructor takes its fields by name.

    **Arguments:**

    - `cls`: the result class (its generated `__init__` takes every field by keyword).
    - `arrays`: names of the array fields (shape and dtype stored, values in the leaves).
    - `static`: names of the static fields holding JSON numbers, strings or booleans.
    - `nested`: names of fields holding registered objects (stored with `describe_nested`,
      default [`describe`][dynsys._serialization.describe], rebuilt by `template_from`).
    """
    arrays, static, nested = tuple(arrays), tuple(static), tuple(nested)

    def hyperparameters(result: Any) -> dict:
        return {
            "arrays": {name: _array_spec(getattr(result, name)) for name in arrays},
            **{name: getattr(result, name) for name in static},
            **{name: describe_nested(getattr(result, name)) for name in nested},
        }

    def template(hp: dict) -> Any:
        return cls(
            **{name: _zeros(hp["arrays"][name]) for name in arrays},
            **{name: hp[name] for name in static},
            **{name: template_from(hp[name]) for name in nested},
        )

    register_loadable(cls, hyperparameters=hyperparameters, template=template)
