"""The example app: Django's polls tutorial, as migrate.py models.

Change a model, then run `python migrate.py make` and `python migrate.py apply`.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Optional


@dataclass
class Question:
    question_text: str = field(metadata={"sql_type": "VARCHAR(200)"})
    pub_date: datetime.datetime = field(metadata={"index": True})
    id: Optional[int] = None


@dataclass
class Choice:
    question: Question = field(metadata={"on_delete": "CASCADE"})
    choice_text: str = field(metadata={"sql_type": "VARCHAR(200)"})
    votes: int = field(default=0, metadata={"check": "votes >= 0"})
    id: Optional[int] = None
