"""The base of every practitioner-owned repository: no query can forget whose data it reads."""

from sqlalchemy.ext.asyncio import AsyncSession


class Scoped:
    def __init__(self, session: AsyncSession, practitioner_id: int) -> None:
        if not isinstance(practitioner_id, int) or practitioner_id <= 0:
            raise ValueError("a repository needs the practitioner it works for")
        self.session = session
        self.pid = practitioner_id
