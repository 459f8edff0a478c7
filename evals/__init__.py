"""Evaluations run from the `reasoning` CLI (game of 24, faithfulness audits, SuperICL)."""

__all__: list[str] = []
