"""Conformance checks users run on their own components (steppers of `dynsys.pde`).

- [`check_stepper`][dynsys.testing.check_stepper]: shapes, dtype, jit, vmap, gradient
  against finite differences, `time_derivative` consistency, convergence order.
- [`convergence_order`][dynsys.testing.convergence_order]: log-log slope of the error
  against dt.
- [`StepperConformanceError`][dynsys.testing.StepperConformanceError].
"""

from ._conformance import StepperConformanceError as StepperConformanceError
from ._conformance import check_stepper as check_stepper
from ._conformance import convergence_order as convergence_order

__all__ = ["StepperConformanceError", "check_stepper", "convergence_order"]
