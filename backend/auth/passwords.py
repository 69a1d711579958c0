"""Password hashing with argon2id (argon2-cffi), off the event loop.

One hash costs ~0.1 s of CPU and 64 MiB: it runs in a thread, a few at a time, so a burst of logins
neither stalls the server nor exhausts memory. An unknown email is checked against a dummy hash so
that its answer takes as long as a wrong password.
"""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MAX_PASSWORD = 1024  # characters; longer would only be a way to burn CPU


class Passwords:
    """Hash and verify passwords; ``concurrency`` bounds the hashes running at once."""

    def __init__(self, concurrency: int = 2) -> None:
        self._hasher = PasswordHasher()
        self._slots = asyncio.Semaphore(concurrency)
        self._dummy: str | None = None

    async def hash(self, password: str) -> str:
        """The argon2id hash of ``password`` (computed in a thread, a few at a time)."""
        async with self._slots:
            return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored: str | None, password: str) -> bool:
        """True when ``password`` matches ``stored`` (None: no such user, still pays the cost)."""
        if not isinstance(password, str) or len(password) > MAX_PASSWORD:
            return False
        if stored is None:
            if self._dummy is None:
                self._dummy = await self.hash("plume-dummy-password")
            stored, password = self._dummy, password + "\x00"  # never matches
        async with self._slots:
            try:
                return await asyncio.to_thread(self._hasher.verify, stored, password)
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return False

    def needs_rehash(self, stored: str) -> bool:
        """True when ``stored`` was made with weaker parameters than today's."""
        try:
            return self._hasher.check_needs_rehash(stored)
        except InvalidHashError:
            return True
