"""A local stand-in for the Hugging Face Hub, for the offline publish tests (see server.py)."""
from .server import HubServer

__all__ = ["HubServer"]
