"""Load one month of sample KPI data: ``python data/slm/load_sample.py [URL] [YYYY-MM]``.

URL defaults to ``sqlite:///var/kpi.db`` (PostgreSQL: ``postgresql+psycopg://user@host/db``); the month
defaults to the current one. The schema is documented in :mod:`workers.slm.kpi_sample`.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

from workers.slm.kpi_sample import load_sample

if __name__ == "__main__":
    url = sys.argv[1] if len(sys.argv) > 1 else "sqlite:///var/kpi.db"
    month = sys.argv[2] if len(sys.argv) > 2 else date.today().strftime("%Y-%m")
    counts = load_sample(url, month, Path(__file__).with_name("kpi-sample.yaml"))
    print(f"loaded {month} into {url}: " + ", ".join(f"{table} {n}" for table, n in counts.items()))
