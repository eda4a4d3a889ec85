"""The holder index of issued cards: a counter finds a citizen's cards by an exact
match on the holder's name or masked ID number, through an index, instead of a LIKE
scan over the holder JSON.

- issued_cards.holder_name: the name as backend_sync.central.holder_index.name_key
  keys it (NFC, trimmed, runs of spaces one space, capitals), and
  issued_cards.holder_id_masked: the masked ID number written at issue; each indexed
  with created_ms (newest first without a sort).
- Filled here for the rows already written (the key's rule is copied: a migration
  never imports the application's code).

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import json
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def _name_key(name: str) -> str:
    """holder_index.name_key when this was written."""
    return " ".join(unicodedata.normalize("NFC", name).split()).upper()[:60]


def upgrade() -> None:
    op.add_column("issued_cards", sa.Column("holder_name", sa.String(length=60), nullable=True))
    op.add_column(
        "issued_cards", sa.Column("holder_id_masked", sa.String(length=18), nullable=True)
    )
    conn = op.get_bind()
    t = sa.table("issued_cards", sa.column("op_id"), sa.column("holder"),
                 sa.column("holder_name"), sa.column("holder_id_masked"))  # fmt: skip
    rows = conn.execute(sa.select(t.c.op_id, t.c.holder)).all()
    for r in rows:
        holder = json.loads(r.holder)
        conn.execute(
            t.update()
            .where(t.c.op_id == r.op_id)
            .values(
                holder_name=_name_key(str(holder.get("name", ""))),
                holder_id_masked=str(holder.get("id_masked", ""))[:18],
            )
        )
    op.create_index("ix_issued_cards_holder_name", "issued_cards", ["holder_name", "created_ms"])
    op.create_index("ix_issued_cards_holder_id", "issued_cards", ["holder_id_masked", "created_ms"])


def downgrade() -> None:
    op.drop_index("ix_issued_cards_holder_id", table_name="issued_cards")
    op.drop_index("ix_issued_cards_holder_name", table_name="issued_cards")
    with op.batch_alter_table("issued_cards") as batch:  # SQLite: a table rebuilt
        batch.drop_column("holder_id_masked")
        batch.drop_column("holder_name")
