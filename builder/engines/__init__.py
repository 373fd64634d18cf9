"""Engines run a function over a stream of work items and hand results back in input order.

They know nothing of Chinese or of stages: the runner gives them a picklable task factory.
"""
from builder.engines.local import LocalEngine

ENGINES = {"local": LocalEngine}
