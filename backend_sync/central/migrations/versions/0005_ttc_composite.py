"""One TTC per PSAM across purse (06) and composite (09) purchases.

The PSAM's counter numbers every purchase it MACs, whatever the type, so the
(terminal, TTC) uniqueness over genuine records covers type 09 too.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_GENUINE = "status IN ('posted', 'suspended')"


def _ttc_index(types: str) -> None:
    op.create_index(
        "uq_terminal_ttc",
        "terminal_records",
        ["terminal_id", "ttc"],
        unique=True,
        sqlite_where=sa.text(f"ttype IN ({types}) AND {_GENUINE}"),
        postgresql_where=sa.text(f"ttype IN ({types}) AND {_GENUINE}"),
    )


def upgrade() -> None:
    op.drop_index("uq_terminal_ttc", table_name="terminal_records")
    _ttc_index("6, 9")


def downgrade() -> None:
    op.drop_index("uq_terminal_ttc", table_name="terminal_records")
    _ttc_index("6")
