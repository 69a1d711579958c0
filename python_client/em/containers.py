"""``t9k.em.containers``: where the seed API keeps :class:`Params` (the class lives in :mod:`.params`)."""

from .params import Params

__all__ = ["Params"]
