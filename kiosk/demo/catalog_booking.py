"""The demo catalog's entries for booking-like services: hall appointments, bus
tickets, public bikes (TEST ONLY data; the flows are the product's).

Their choices (departments, slots, departures) are not here: the flows ask the
central for them live.
"""

from __future__ import annotations

from typing import Any

__all__ = ["BOOKING_SERVICES"]  # in the "government" group of kiosk/demo/catalog.py


def _n(hans: str, hant: str, en: str) -> dict[str, str]:
    return {"zh-Hans": hans, "zh-Hant": hant, "en": en}


_ONLINE = {"card": True, "network": True}

BOOKING_SERVICES: list[dict[str, Any]] = [
    {"id": "appointment", "flow": "appointment", "groups": ["government"], "order": 40,
     "names": _n("大厅预约", "大廳預約", "Book at the service hall"), "needs": _ONLINE},
    {"id": "appointment_cancel", "flow": "appointment_cancel", "groups": ["government"],
     "order": 41, "names": _n("取消预约", "取消預約", "Cancel a booking"), "needs": _ONLINE,
     "fields": [{"name": "booking", "kind": "text", "max_length": 40,
                 "labels": _n("预约号", "預約號", "Booking number")}]},
    {"id": "bus_ticket", "flow": "bus_ticket", "groups": ["transport"], "order": 21,
     "names": _n("长途汽车票", "長途汽車票", "Long-distance bus ticket"), "needs": _ONLINE,
     "payment": {"payee": "bus"}},
    {"id": "bus_refund", "flow": "bus_refund", "groups": ["transport"], "order": 22,
     "names": _n("汽车票退票", "汽車票退票", "Return a bus ticket"), "needs": _ONLINE,
     "fields": [{"name": "ticket", "kind": "text", "max_length": 40,
                 "labels": _n("票号", "票號", "Ticket number")}]},
    {"id": "bike_deposit", "flow": "bike_enable", "groups": ["transport"], "order": 23,
     "names": _n("开通公共自行车", "開通公共自行車", "Enable public bikes"), "needs": _ONLINE,
     "payment": {"payee": "bike_deposit"}},
    {"id": "bike_return", "flow": "bike_disable", "groups": ["transport"], "order": 24,
     "names": _n("注销自行车并退押金", "註銷自行車並退押金", "Disable bikes, deposit back"),
     "needs": _ONLINE},
    {"id": "bike_rental", "flow": "bike_status", "groups": ["transport"], "order": 25,
     "names": _n("自行车租用状态", "自行車租用狀態", "Public bike status"), "needs": _ONLINE},
]  # fmt: skip
