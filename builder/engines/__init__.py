"""Engines run a function over a stream of work items and hand results back in input order.

They know nothing of Chinese or of stages: the runner gives them a picklable task factory.
"""
from builder.engines.local import LocalEngine

ENGINES = {"local": LocalEngine}


def make_engine(executor):
    """The engine `executor` (an ExecutorConfig) asks for; Ray is imported only when asked for."""
    if executor.type == "ray":
        from builder.engines.ray import RayEngine

        return RayEngine(executor)
    return ENGINES[executor.type](executor.workers)
