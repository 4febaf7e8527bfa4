"""`rnnlab inspect` (placeholder until its issue lands: registers nothing)."""


def register(subparsers) -> None:
    return None
