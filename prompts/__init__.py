"""Prompt templates for the toolkit's tasks (game of 24, faithfulness probes, SuperICL)."""

__all__: list[str] = []
