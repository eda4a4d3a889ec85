"""Receipt wording in zh-Hans, zh-Hant and en: the one place receipt text is chosen."""

from __future__ import annotations

LANGUAGES = ("zh-Hans", "zh-Hant", "en")

_LABELS: dict[str, tuple[str, str, str]] = {
    # key: (zh-Hans, zh-Hant, en)
    "issuer": ("市民卡服务中心", "市民卡服務中心", "Citizen Card Service Centre"),
    "title.purchase": ("消费凭条", "消費憑條", "Purchase Receipt"),
    "title.top_up": ("充值凭条", "儲值憑條", "Top-up Receipt"),
    "title.bill_payment": ("缴费凭条", "繳費憑條", "Bill Payment Receipt"),
    "title.fine_payment": ("罚款缴纳凭条", "罰款繳納憑條", "Fine Payment Receipt"),
    "title.test_page": ("打印机测试页", "印表機測試頁", "Printer Test Page"),
    "title.answer": ("查询结果", "查詢結果", "Query Result"),
    "title.tracking_number": ("受理回执", "受理回執", "Acknowledgement"),
    "title.ticket": ("票据", "票據", "Ticket"),
    "title.queue_number": ("排队号", "排隊號", "Queue Number"),
    "title.vote": ("投票回执", "投票回執", "Vote Receipt"),
    "title.booking": ("预约凭条", "預約憑條", "Appointment"),
    "ref.booking": ("预约号：", "預約號：", "Booking no.:"),
    "appt.department": ("部门：", "部門：", "Department:"),
    "appt.item": ("事项：", "事項：", "Service:"),
    "appt.time": ("时间：", "時間：", "Time:"),
    "appt.bring": (
        "请携带市民卡按时到大厅取号。",
        "請攜帶市民卡按時到大廳取號。",
        "Bring your citizen card to the hall on time.",
    ),
    "queue.ahead": ("前面等候：", "前面等候：", "People ahead:"),
    "queue.wait": ("请留意叫号屏。", "請留意叫號屏。", "Watch the screen for your number."),
    "bus.route": ("线路：", "線路：", "Route:"),
    "bus.departure": ("发车：", "發車：", "Departs:"),
    "bus.seat": ("座位：", "座位：", "Seat:"),
    "bus.fare": ("票价：", "票價：", "Fare:"),
    "bus.board": ("检票时出示此二维码", "檢票時出示此二維碼", "Show this code at boarding"),
    "bus.pending": (
        "二维码未能打印，请凭票号到车站窗口换取。",
        "二維碼未能列印，請憑票號到車站窗口換取。",
        "The boarding code could not be printed: show the ticket number at the station window.",
    ),
    "service": ("事项：", "事項：", "Service:"),
    "balance": ("余额：", "餘額：", "Balance:"),
    "hist.purchase": ("消费", "消費", "Payment"),
    "hist.load": ("充值", "儲值", "Top-up"),
    "ref.answer": ("查询编号：", "查詢編號：", "Reference:"),
    "ref.tracking_number": ("受理编号：", "受理編號：", "Tracking no.:"),
    "ref.ticket": ("票号：", "票號：", "Ticket no.:"),
    "ref.queue_number": ("您的号码", "您的號碼", "Your number"),
    "ref.vote": ("选票编码（前40位）：", "選票編碼（前40位）：", "Ballot code (first 40):"),
    "vote.token": ("选票编码", "選票編碼", "Ballot code"),
    "vote.key": ("投票公钥指纹", "投票公鑰指紋", "Poll key fingerprint"),
    "vote.check": (
        "结束后可在公布名单中核对此编码；回执不显示您的选择。",
        "結束後可在公布名單中核對此編碼；回執不顯示您的選擇。",
        "After the close, find this code in the published list. Your choice is not shown.",
    ),
    # feedback: a case's acknowledgement slip (kiosk/flows/feedback.py)
    "fb.kind": ("类别：", "類別：", "Kind:"),
    "fb.category": ("事项：", "事項：", "Subject:"),
    "fb.urgency": ("紧急程度：", "緊急程度：", "Urgency:"),
    "fb.identity": ("署名：", "署名：", "Name shown:"),
    "fb.number": ("受理编号：", "受理編號：", "Tracking no.:"),
    "fb.lookup": (
        "凭受理编号或本卡可在任一自助终端查询办理进度和答复。",
        "憑受理編號或本卡可在任一自助終端查詢辦理進度和答覆。",
        "Look up its progress and answer at any kiosk by this number or your card.",
    ),
    "terminal": ("终端号：", "終端號：", "Terminal:"),
    "location": ("网点：", "網點：", "Location:"),
    "time": ("时间：", "時間：", "Time:"),
    "card": ("卡号：", "卡號：", "Card:"),
    "holder": ("持卡人：", "持卡人：", "Holder:"),
    "merchant": ("商户：", "商戶：", "Merchant:"),
    "item": ("项目：", "項目：", "Item:"),
    "amount": ("金额：", "金額：", "Amount:"),
    "amount_paid": ("实付金额：", "實付金額：", "Amount paid:"),
    "top_up_amount": ("充值金额：", "儲值金額：", "Top-up amount:"),
    "balance_before": ("充值前余额：", "儲值前餘額：", "Balance before:"),
    "funding_account": ("付款账户：", "付款帳戶：", "Paid from:"),
    "balance_after": ("交易后余额：", "交易後餘額：", "Balance after:"),
    "biller": ("收费单位：", "收費單位：", "Biller:"),
    "account": ("户号：", "戶號：", "Account no.:"),
    "period": ("账期：", "帳期：", "Period:"),
    "decision": ("决定书编号：", "決定書編號：", "Decision no.:"),
    "plate": ("车牌号：", "車牌號：", "Plate:"),
    "violation": ("违法行为：", "違法行為：", "Violation:"),
    "fine": ("罚款金额：", "罰款金額：", "Fine:"),
    "late_fee": ("滞纳金：", "滯納金：", "Late fee:"),
    "transaction": ("交易流水号：", "交易流水號：", "Transaction:"),
    "ttc": ("终端交易序号：", "終端交易序號：", "Terminal seq.:"),
    "verify": (
        "扫码核验本凭条（终端签名）",
        "掃碼核驗本憑條（終端簽名）",
        "Scan to verify (signed by the terminal)",
    ),
    "keep": ("请妥善保管，谢谢！", "請妥善保管，謝謝！", "Please keep this receipt. Thank you!"),
    "printer_profile": ("打印机型号：", "印表機型號：", "Printer profile:"),
    "charset": ("字符测试：", "字元測試：", "Character test:"),
    "columns": ("对齐测试：", "對齊測試：", "Column test:"),
    "styles": ("样式测试：", "樣式測試：", "Style test:"),
    "bold": ("粗体", "粗體", "Bold"),
    "underline": ("下划线", "底線", "Underline"),
    "double": ("倍大", "倍大", "Double"),
    "barcode": ("条码：", "條碼：", "Barcode:"),
    "test_ok": (
        "以上内容完整清晰即为正常",
        "以上內容完整清晰即為正常",
        "All of the above complete and sharp = OK",
    ),
    "fine_biller": ("交通管理部门", "交通管理部門", "Traffic police"),
    "water": ("水费", "水費", "Water"),
    "electricity": ("电费", "電費", "Electricity"),
    "gas": ("燃气费", "燃氣費", "Gas"),
}


def label(key: str, language: str) -> str:
    """The wording for ``key`` in ``language`` (one of :data:`LANGUAGES`)."""
    try:
        index = LANGUAGES.index(language)
    except ValueError:
        raise ValueError(f"unsupported receipt language {language!r}; use {LANGUAGES}") from None
    return _LABELS[key][index]


# City-service answers on a slip (kiosk/flows/city.py): detail labels "q.<code>" and
# value codes "v.<code>".
_DETAILS: dict[str, tuple[str, str, str]] = {
    "q.medical_balance": ("医保个人账户：", "醫保個人賬戶：", "Medical account:"),
    "q.contributions": ("月份 缴费（元）", "月份 繳費（元）", "Month, paid (yuan)"),
    "q.pension_total": ("养老保险合计：", "養老保險合計：", "Pension, total:"),
    "q.fund_balance": ("公积金余额：", "公積金餘額：", "Fund balance:"),
    "q.loan_status": ("贷款状态：", "貸款狀態：", "Loan:"),
    "q.deposits": ("月份 缴存（元）", "月份 繳存（元）", "Month, deposited (yuan)"),
    "q.application": ("申请编号：", "申請編號：", "Application no.:"),
    "q.matter": ("事项：", "事項：", "Matter:"),
    "q.department": ("办理部门：", "辦理部門：", "Department:"),
    "q.steps_done": ("已完成：", "已完成：", "Done:"),
    "q.current_step": ("当前环节：", "當前環節：", "Now at:"),
    "q.expected_date": ("预计办结：", "預計辦結：", "Expected by:"),
    "q.applications": ("办件：", "辦件：", "Applications:"),
    "q.plate": ("车牌号：", "車牌號：", "Plate:"),
    "q.fines": ("未处理违法：", "未處理違法：", "Unpaid fines:"),
    "q.account": ("户号：", "戶號：", "Account no.:"),
    "q.bills": ("未缴账单：", "未繳賬單：", "Unpaid bills:"),
    "v.pension_medical_unemployment": (
        "养老 / 医疗 / 失业",
        "養老 / 醫療 / 失業",
        "pension / medical / unemployment",
    ),
    "v.loan_none": ("无贷款", "無貸款", "No loan"),
    "v.loan_repaying": ("还款中", "還款中", "Repaying"),
    "v.loan_applied": ("已申请，审批中", "已申請，審批中", "Applied, under review"),
    "q.fine": ("罚款金额：", "罰款金額：", "Fine:"),
    "q.payable": ("本机缴纳：", "本機繳納：", "Pay here:"),
    "v.balance_short": (
        "卡内余额不足，请先充值",
        "卡內餘額不足，請先儲值",
        "Not enough on the card: top up first",
    ),
    "v.none": ("无", "無", "None"),
}


def detail_text(code: str, language: str) -> str:
    """A city-service answer's label or value code in ``language``; anything else
    (a month, a name, money already formatted) as it is."""
    key = code if code.startswith("v.") else f"q.{code}"
    words = _DETAILS.get(key)
    if words is None:
        return code
    return words[LANGUAGES.index(language)]
