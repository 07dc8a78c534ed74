"""Errors of the simulator package: one base, ``SimulatorError``.

``SimulatorError`` itself says the simulator cannot start or has failed while running (its
serving thread, the trade generation, the mark-price ticks, a connection or request handler
or a stream writer raised); ``Simulator.start``, ``stop``, ``check`` and every control call
raise it, chained to the original exception. The Binance-style rejections derive from it:
``rest.RestError`` (an HTTP error answer) and ``klines.KlineError`` (a 400 body). Bad
arguments to the control API and bad configuration raise ``ValueError``.
"""


class SimulatorError(Exception):
    """Base of every error the simulator raises; alone, the simulator failed or never started."""
