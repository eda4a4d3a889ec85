"""Each card's latest reported state, kept as records post.

card_states: per card and counter (offline: purchases 06/09; online: loads 02),
the genuine record with the highest ATC the central holds: its ATC, the balances
the card reported before and after it, its card date and time and where it came
from. BatchPoster writes it in the posting's own transaction, only forward (a
late record with a lower ATC does not move it back); shadow.card_check compares
it with the card's shadow balance in constant time. Filled here from the records
already held.

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "card_states",
        sa.Column("asn", sa.String(20), nullable=False),
        sa.Column("counter", sa.SmallInteger(), nullable=False),  # 0 offline, 1 online
        sa.Column("atc", sa.Integer(), nullable=False),
        sa.Column("balance_before", sa.BigInteger(), nullable=False),
        sa.Column("balance_after", sa.BigInteger(), nullable=False),
        sa.Column("card_date", sa.String(8), nullable=False),
        sa.Column("card_time", sa.String(6), nullable=False),
        sa.Column("terminal_id", sa.String(12), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("asn", "counter"),
    )
    # The record with the highest ATC per card and counter (its balance after as
    # reconcile computes it when the record has none); ties (a counter value used
    # twice, already flagged) go to the later arrival.
    op.execute(
        "INSERT INTO card_states (asn, counter, atc, balance_before, balance_after,"
        " card_date, card_time, terminal_id, seq, updated_ms)"
        " SELECT asn, counter, atc, balance_before, balance_after, card_date, card_time,"
        " terminal_id, seq, received_ms FROM ("
        "  SELECT asn, CASE WHEN ttype = 2 THEN 1 ELSE 0 END AS counter, atc, balance_before,"
        "   COALESCE(balance_after, balance_before"
        "    + CASE WHEN ttype = 2 THEN amount ELSE -amount END) AS balance_after,"
        "   card_date, card_time, terminal_id, seq, received_ms,"
        "   ROW_NUMBER() OVER (PARTITION BY asn, CASE WHEN ttype = 2 THEN 1 ELSE 0 END"
        "    ORDER BY atc DESC, received_ms DESC, terminal_id DESC, seq DESC) AS r"
        "  FROM terminal_records"
        "  WHERE status IN ('posted', 'suspended') AND balance_before IS NOT NULL"
        "   AND atc IS NOT NULL AND card_date IS NOT NULL AND card_time IS NOT NULL"
        " ) latest WHERE r = 1"
    )


def downgrade() -> None:
    op.drop_table("card_states")
