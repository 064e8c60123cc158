"""Every console text in Chinese and English; pages pick one by ``?lang=`` or a cookie.

Chinese is the default (the people at the desk read Chinese). Times are Beijing time (UTC+8).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Literal

from connector import formatting
from connector.clock import BEIJING

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")
DEFAULT_LANG: Lang = "zh"

MESSAGES: Mapping[str, tuple[str, str]] = {
    # key: (zh, en)
    "app_title": ("售后退款控制台", "Refund connector console"),
    "nav_queue": ("待审队列", "Review queue"),
    "nav_audit": ("审计查询", "Audit search"),
    "nav_stats": ("退款原因统计", "Refund reasons"),
    "nav_admin": ("账号管理", "Accounts"),
    "logout": ("退出", "Sign out"),
    "signed_in_as": ("当前用户", "Signed in as"),
    "times_note": ("时间均为北京时间（UTC+8）", "Times are Beijing time (UTC+8)"),
    "login_title": ("登录", "Sign in"),
    "account": ("账号", "Account"),
    "password": ("密码", "Password"),
    "login_button": ("登录", "Sign in"),
    "login_failed": ("账号或密码错误", "Wrong account or password"),
    "login_throttled": (
        "登录失败次数过多，请 {seconds} 秒后再试（已记入审计）",
        "Too many failed sign-ins; try again in {seconds} s (audited)",
    ),
    "bad_origin": ("请求来源不是本控制台，已拒绝", "The request did not come from this console"),
    "method_not_allowed": ("此地址不支持这种请求", "This address does not take that request"),
    "session_needed": ("请先登录", "Please sign in first"),
    "forbidden": ("你的角色无权访问此页面", "Your role may not open this page"),
    "csrf_failed": (
        "表单已失效或来源不明（缺少或错误的 CSRF 校验令牌），操作被拒绝",
        "The form is stale or forged (missing or wrong CSRF token); refused",
    ),
    "not_found": ("没有这个售后单", "No such case"),
    "error_title": ("无法完成", "Cannot do that"),
    "back_to_queue": ("返回待审队列", "Back to the queue"),
    # queue
    "queue_title": ("等待人工处理的售后单", "Cases waiting for a person"),
    "queue_count": ("共 {n} 单，按剩余时间排序", "{n} case(s), least time left first"),
    "queue_empty": ("没有等待人工处理的售后单", "No cases are waiting for a person"),
    "col_select": ("选择", "Select"),
    "col_case": ("售后单", "Case"),
    "col_shop": ("店铺", "Shop"),
    "col_type_reason": ("类型 / 原因", "Type / reason"),
    "col_asks": ("申请金额", "Asks"),
    "col_deadline": ("截止时间", "Deadline"),
    "col_left": ("剩余时间", "Time left"),
    "col_why": ("转人工原因", "Why queued"),
    "col_claimed": ("处理人", "Claimed by"),
    "col_version": ("版本", "Version"),
    "no_deadline": ("无截止时间", "no deadline"),
    "overdue": ("已超时 {span}", "overdue {span}"),
    "batch_title": ("批量处理所选售后单", "Decide the selected cases together"),
    "batch_hint": (
        "每一单仍按页面上显示的版本逐一提交；期间有变化的单会被拒绝并告知。",
        "Each case still goes with the version shown on this page; a case that changed "
        "meanwhile is refused and reported.",
    ),
    "batch_none": ("没有选择任何售后单", "No case was selected"),
    "results_title": ("处理结果", "Results"),
    "result_ok": (
        "已记录（决定 #{id}），由守护进程提交平台",
        "Recorded (decision #{id}); the daemon sends it",
    ),
    "result_changed": ("你查看后该单已变化，未提交", "Changed since you looked; not sent"),
    "result_refused": ("被拒绝", "Refused"),
    # case
    "case_title": ("售后单 {case_id}", "Case {case_id}"),
    "facts": ("基本信息", "Facts"),
    "order": ("订单", "Order"),
    "item": ("商品", "Item"),
    "type": ("类型", "Type"),
    "reason_buyer": ("买家原因", "Buyer's reason"),
    "buyer_says": ("买家说明", "Buyer says"),
    "platform_status": ("平台状态", "Platform status"),
    "order_status": ("订单状态", "Order status"),
    "paid_asks": ("实付 / 申请退款", "Paid / asks back"),
    "connector_state": ("连接器状态", "Connector state"),
    "version": ("平台版本", "Platform version"),
    "claimed_by": ("处理人", "Claimed by"),
    "claim_until": ("认领至", "claimed until"),
    "claim_button": ("认领此单", "Claim this case"),
    "claimed_ok": ("已认领", "Claimed"),
    "evidence_title": ("买家凭证", "Buyer evidence"),
    "no_evidence": ("买家未提供凭证", "The buyer gave no evidence"),
    "logistics_title": ("物流", "Logistics"),
    "outbound_parcel": ("发货包裹", "Parcel to the buyer"),
    "return_parcel": ("退货包裹", "Return parcel"),
    "inspection": ("退货验收", "Return inspection"),
    "resellable": ("可二次销售", "resellable"),
    "not_resellable": ("不可二次销售", "not resellable"),
    "no_logistics": ("无物流信息", "No logistics"),
    "track_steps": ("物流轨迹", "Tracking steps"),
    "no_track_steps": ("暂无物流轨迹", "No tracking steps yet"),
    "chat_title": ("协商记录", "Chat record"),
    "no_chat": ("没有协商记录", "No messages"),
    "chat_pictures": ("{n}张图片", "{n} picture(s)"),
    "warehouse": ("仓库", "Warehouse"),
    "policy_title": ("策略的解释", "The policy's explanation"),
    "no_decision": ("尚未作出决定", "Not decided yet"),
    "decided_by_rule": (
        "{action}，规则 {rule}（策略 {policy}）",
        "{action} by rule {rule} (policy {policy})",
    ),
    "audit_history": ("审计记录", "Audit history"),
    "decide_title": ("人工处理", "Decide"),
    "action": ("处理方式", "Action"),
    "amount_yuan": ("退款金额（元）", "Refund amount (yuan)"),
    "amount_hint": (
        "可退 {refundable}，买家申请 {asks}；可写 1500、1500.5 或 1,500.00",
        "Refundable {refundable}, the buyer asks {asks}; write 1500, 1500.5 or 1,500.00",
    ),
    "choose_action": ("请选择处理方式", "Choose an action"),
    "action_needed": ("请先选择处理方式", "Choose an action first"),
    "confirm_title": ("请确认这笔退款", "Confirm this refund"),
    "confirm_body": (
        "将向买家退款 {amount}（{words}）。确认后由守护进程提交平台。",
        "The buyer will be refunded {amount} ({words}). Once confirmed the daemon sends it.",
    ),
    "confirm_batch_body": (
        "将对 {n} 单共退款 {amount}（{words}）。",
        "{n} case(s) will be refunded {amount} in total ({words}).",
    ),
    "confirm_button": ("确认提交", "Confirm"),
    "cancel": ("取消", "Cancel"),
    "not_decidable": ("此单现在不能处理：{why}", "This case cannot be decided now: {why}"),
    "bad_amount": (
        "金额“{value}”无法识别：请写 1500、1500.5 或 1,500.00",
        "Amount {value!r} not understood: write 1500, 1500.5 or 1,500.00",
    ),
    "approval_title": ("待第二人复核", "Waiting for a second approval"),
    "approval_body": (
        "{who} 申请退款 {amount}（{words}），超过其审批额度，需另一人批准。理由：{reason}",
        "{who} asks to refund {amount} ({words}), above their limit; another person approves. "
        "Reason: {reason}",
    ),
    "approval_requested": (
        "金额超过你的审批额度，已提交第二人复核；批准前不会提交平台",
        "Above your approval limit: sent for a second approval; nothing is sent before then",
    ),
    "approval_declined": ("已驳回该复核申请", "The approval request was declined"),
    "approval_gone": ("该复核申请已关闭", "That approval request is closed"),
    "approve_button": ("批准退款", "Approve the refund"),
    "decline_button": ("驳回", "Decline"),
    "own_request": ("这是你提交的申请，需由其他人复核", "Your own request: someone else approves"),
    "no_such_colleague": ("没有可用的账号 {name}", "No enabled account {name}"),
    "note_empty": ("备注不能为空", "A note cannot be empty"),
    "notes_title": ("处理备注", "Notes"),
    "note_add": ("添加备注", "Add note"),
    "note_hint": (
        "仅内部可见；手机号、地址等个人信息会被遮盖", "Internal; personal data is masked"
    ),
    "assigned_to": ("分配给", "Assigned to"),
    "assign": ("分配", "Assign"),
    "assign_me": ("我", "me"),
    "assign_nobody": ("取消分配", "nobody"),
    "next_case": ("下一单 (n)", "Next case (n)"),
    "filters": ("筛选", "Filters"),
    "f_platform": ("平台", "Platform"),
    "f_reason": ("退款原因", "Reason"),
    "f_min": ("最低金额（元）", "Min (yuan)"),
    "f_max": ("最高金额（元）", "Max (yuan)"),
    "f_band": ("剩余时间", "Time left"),
    "f_who": ("处理人", "Who"),
    "f_q": ("订单号 / 售后单号", "Order or refund id"),
    "any": ("全部", "any"),
    "who_mine": ("我的", "mine"),
    "who_unclaimed": ("无人处理", "unclaimed"),
    "band_overdue": ("已超时", "overdue"),
    "band_red": ("紧急（保护时限内）", "urgent (inside the guard)"),
    "band_amber": ("临近", "soon"),
    "band_later": ("宽裕", "later"),
    "apply": ("筛选", "Apply"),
    "clear": ("清除", "Clear"),
    "page_of": ("第 {page} / {pages} 页", "Page {page} of {pages}"),
    "prev_page": ("上一页", "Previous"),
    "next_page": ("下一页", "Next"),
    "select_all": ("全选本页", "Select all on this page"),
    "found_elsewhere": ("不在待审队列中，但找到：", "Not in the queue, but found:"),
    "shortcuts_title": ("键盘快捷键", "Keyboard shortcuts"),
    "shortcuts": (
        "j / k 上下移动 · x 选中 · o 或 回车 打开 · a 全选 · / 搜索 · n 下一单",
        "j / k move · x select · o or Enter open · a select all · / search · n next case",
    ),
    "queue_total": (
        "共 {n} 单符合条件，按剩余时间排序", "{n} case(s) match, least time left first"
    ),
    "sms_title": ("平台要求短信验证码", "The platform asks for an SMS code"),
    "sms_waiting": ("等待输入短信验证码：{words}", "Waiting for the SMS code: {words}"),
    "sms_body": (
        "退款金额较大，平台已向卖家绑定手机发送验证码。输入后按原决定重新提交。",
        "A large refund: the platform sent a code to the seller's phone. Enter it and the "
        "same decision goes again.",
    ),
    "sms_button": ("提交验证码", "Send the code"),
    "task_gone": ("该待办已关闭", "That task is closed"),
    "code_sent": ("验证码已记录，守护进程将重新提交", "Code recorded; the daemon sends again"),
    "image_unavailable": ("图片暂不可用（不在平台声明的图片域名内或无法获取）",
                          "Image unavailable (not on the platform's image hosts, or unreachable)"),
    "life_title": ("处理进度", "Progress"),
    "life_pending": ("待发送", "pending"),
    "life_sending": ("发送中", "sending"),
    "life_applied": ("平台已生效", "applied"),
    "life_refused": ("平台拒绝", "refused by the platform"),
    "life_superseded": ("已被取代", "superseded"),
    "platform_refused_top": (
        "平台拒绝了上次的处理（{action}）：{words}",
        "The platform refused the last decision ({action}): {words}",
    ),
    "image_needed_hint": ("此平台要求附图片", "This platform needs an image"),
    "proof_per_case": ("天猫凭证图片", "Tmall proof image"),
    "reason": ("理由", "Reason"),
    "reason_hint": ("拒绝时会展示给买家", "Shown to the buyer on a rejection"),
    "evidence_upload": (
        "凭证图片（PNG/JPEG/GIF，拒绝时上传）",
        "Evidence image (PNG/JPEG/GIF, for a rejection)",
    ),
    "submit_decide": ("提交", "Submit"),
    "decided_ok": (
        "已记录决定 #{id}，守护进程将按你查看的版本提交平台",
        "Decision #{id} recorded; the daemon sends it with the version you saw",
    ),
    "changed_title": (
        "你查看后该售后单在平台上已变化",
        "This case changed on the platform since you looked",
    ),
    "changed_body": (
        "你的决定没有提交。下面是最新状态（版本 {old} → {new}），请重新查看后再处理。",
        "Your decision was not sent. Below is the new state (version {old} -> {new}); look "
        "again before deciding.",
    ),
    "contact_title": ("买家联系方式", "Buyer contact"),
    "reveal_button": ("查看联系方式（将被审计）", "Reveal contact (audited)"),
    "reveal_unavailable": ("该平台不支持查看买家联系方式", "Not available for this platform"),
    "reveal_note": (
        "仅显示这一次，不会保存；查看行为已记入审计（不含联系方式本身）。",
        "Shown this once and never stored; the reveal is audited (without the details).",
    ),
    "reveal_failed": ("获取联系方式失败：{error}", "Could not fetch the contact: {error}"),
    # audit search
    "audit_title": ("审计查询", "Audit search"),
    "f_case": ("售后单号", "Case id"),
    "f_order": ("订单号", "Order id"),
    "f_shop": ("店铺", "Shop"),
    "f_event": ("事件 / 动作", "Event / action"),
    "f_rule": ("规则", "Rule"),
    "f_from": ("开始（北京时间）", "From (Beijing time)"),
    "f_to": ("结束（北京时间）", "To (Beijing time)"),
    "search": ("查询", "Search"),
    "audit_results": (
        "{n} 条记录（最新在前，最多 5000 条，每页 100 条）",
        "{n} entries (newest first, at most 5000, 100 a page)",
    ),
    "col_seq": ("序号", "Seq"),
    "col_time": ("时间", "Time"),
    "col_actor": ("操作者", "Actor"),
    "col_event": ("事件", "Event"),
    "col_details": ("详情", "Details"),
    "bad_time": (
        "时间格式应为 YYYY-MM-DD 或 YYYY-MM-DDTHH:MM：{value}",
        "Times are YYYY-MM-DD or YYYY-MM-DDTHH:MM: {value}",
    ),
    # stats
    "stats_title": ("退款原因统计（按店铺与商品）", "Refund reasons per shop and SKU"),
    "stats_period": (
        "统计区间（北京时间，含开始日、含结束日）",
        "Period (Beijing dates, both days included)",
    ),
    "stats_show": ("统计", "Show"),
    "stats_csv": ("导出 CSV（周报）", "Export CSV (weekly report)"),
    "stats_total": (
        "共 {n} 单售后，按首次看到的时间统计",
        "{n} case(s), counted by when first seen",
    ),
    "stats_by_reason": ("各退款原因的单数", "Cases per refund reason"),
    "stats_by_sku": ("退款最多的商品（按原因分色）", "Items refunded most (coloured by reason)"),
    "col_sku": ("商品编码", "SKU"),
    "col_title": ("商品名称", "Title"),
    "col_reason": ("退款原因", "Refund reason"),
    "col_cases": ("单数", "Cases"),
    "col_amount": ("申请金额合计", "Asked in total"),
    "stats_empty": ("该区间没有售后单", "No cases in this period"),
    # admin
    "admin_title": ("账号管理", "Accounts"),
    "role": ("角色", "Role"),
    "created_at": ("创建时间", "Created"),
    "created_by": ("创建人", "Created by"),
    "add_account": ("新建账号", "Add an account"),
    "add_button": ("创建", "Create"),
    "account_added": ("已创建账号 {name}", "Account {name} created"),
    "account_state": ("状态", "State"),
    "account_enabled": ("启用", "enabled"),
    "account_disabled": ("已停用", "disabled"),
    "account_actions": ("操作", "Actions"),
    "enable": ("启用", "Enable"),
    "disable": ("停用", "Disable"),
    "change_role": ("改角色", "Change role"),
    "new_password": ("新密码", "New password"),
    "reset_password": ("重置密码", "Reset password"),
    "end_sessions": ("全部登出", "Sign out everywhere"),
    "end_session": ("结束会话", "End session"),
    "sessions_title": ("在线会话", "Live sessions"),
    "session_id": ("会话编号", "Session"),
    "session_started": ("登录时间", "Signed in"),
    "session_expires": ("到期时间", "Expires"),
    "account_changed": ("账号 {name} 已更新", "Account {name} updated"),
    "session_ended": ("会话已结束", "Session ended"),
    "not_found_page": ("没有这个页面", "No such page"),
    "role_reviewer": ("审核员", "reviewer"),
    "role_ops": ("运维", "ops"),
    "role_admin": ("管理员", "admin"),
}

LABELS: Mapping[str, Mapping[str, tuple[str, str]]] = {
    "reason": {
        "no_reason_7d": ("七天无理由", "no reason (7 days)"),
        "not_as_described": ("与描述不符", "not as described"),
        "quality": ("质量问题", "quality problem"),
        "damaged": ("破损", "damaged"),
        "shipping_fee": ("运费问题", "shipping fee"),
        "not_received": ("未收到货", "not received"),
        "invoice": ("发票问题", "invoice"),
        "late_shipment": ("发货慢", "late shipment"),
        "out_of_stock": ("缺货", "out of stock"),
        "wrong_order": ("拍错", "ordered by mistake"),
        "changed_mind": ("不想要了", "changed mind"),
        "wrong_item_sent": ("发错货", "wrong item sent"),
        "price_difference": ("差价", "price difference"),
        "other": ("其他", "other"),
    },
    "type": {
        "refund_only": ("仅退款", "refund only"),
        "return_and_refund": ("退货退款", "return and refund"),
        "exchange": ("换货", "exchange"),
        "repair": ("维修", "repair"),
    },
    "status": {
        "awaiting_seller": ("等待卖家处理", "awaiting the seller"),
        "awaiting_buyer_return": ("等待买家退货", "awaiting the buyer's return"),
        "awaiting_seller_receipt": ("等待卖家收货", "awaiting the seller's receipt"),
        "refused": ("卖家已拒绝", "refused"),
        "in_dispute": ("平台介入中", "in dispute"),
        "refunded": ("已退款", "refunded"),
        "closed": ("已关闭", "closed"),
    },
    "order_status": {
        "not_shipped": ("未发货", "not shipped"),
        "shipped": ("已发货", "shipped"),
        "delivered": ("已签收", "delivered"),
        "completed": ("交易完成", "completed"),
    },
    "logistics": {
        "in_transit": ("运输中", "in transit"),
        "delivered": ("已签收", "delivered"),
        "lost": ("丢件", "lost"),
        "refused": ("拒收", "refused"),
        "returned": ("已退回", "returned"),
    },
    "state": {
        "new": ("待决定", "new"),
        "decided": ("已决定", "decided"),
        "queued_for_human": ("等待人工", "queued for a person"),
        "waiting": ("等待中", "waiting"),
        "done": ("已完成", "done"),
        "left_to_platform": ("交由平台", "left to the platform"),
    },
    "review_action": {
        "approve-refund": ("同意退款", "approve refund"),
        "approve-return": ("同意退货", "approve return"),
        "confirm-return-and-refund": ("确认收货并退款", "confirm return and refund"),
        "reject": ("拒绝", "reject"),
        "ask-buyer": ("联系买家", "ask the buyer"),
    },
    "detail_key": {
        "state": ("状态", "state"),
        "previous_state": ("原状态", "previous state"),
        "reason": ("原因", "reason"),
        "action": ("处理", "action"),
        "kind": ("操作", "kind"),
        "status": ("平台状态", "status"),
        "guard_at": ("保护时间", "guard at"),
        "next_review_at": ("下次复查", "next review"),
        "deadline_at": ("截止时间", "deadline"),
        "decision_id": ("决定编号", "decision"),
        "effect_id": ("操作编号", "effect"),
        "rule_id": ("规则", "rule"),
        "policy_version": ("策略版本", "policy version"),
        "decided_version": ("决定时版本", "decided version"),
        "seen_version": ("查看时版本", "seen version"),
        "version": ("平台版本", "version"),
        "via": ("途径", "via"),
        "os_user": ("系统用户", "OS user"),
        "error": ("错误", "error"),
        "outcome": ("结果", "outcome"),
        "attempt": ("第几次", "attempt"),
        "platform_code": ("平台代码", "platform code"),
        "latency_ms": ("耗时（毫秒）", "latency ms"),
        "effects": ("操作", "effects"),
        "type": ("类型", "type"),
        "order_status": ("订单状态", "order status"),
        "paid_amount": ("实付", "paid"),
        "refund_amount": ("申请退款", "asked"),
        "amount_fen": ("金额", "amount"),
        "amount": ("金额", "amount"),
        "account": ("账号", "account"),
        "client_ip": ("地址", "address"),
        "why": ("原因", "why"),
        "assignee": ("分配给", "assignee"),
        "approval_id": ("复核编号", "approval"),
        "requested_by": ("申请人", "requested by"),
        "note_id": ("备注编号", "note"),
        "chars": ("字数", "characters"),
        "shown": ("查看内容", "shown"),
    },
    "audit_event": {
        "case_seen": ("首次看到", "case seen"),
        "case_changed": ("平台上有变化", "case changed"),
        "decided": ("已决定", "decided"),
        "effect_attempt": ("提交平台（未完成）", "send attempt"),
        "effect_done": ("平台已生效", "applied by the platform"),
        "effect_failed": ("平台拒绝", "refused by the platform"),
        "effect_superseded": ("已被取代", "superseded"),
        "effect_cancelled": ("已取消", "cancelled"),
        "effect_requeued": ("重新排队", "requeued"),
        "escalated": ("升级提醒", "escalated"),
        "deadline_fallback": ("截止保护接管", "deadline fallback"),
        "human_action": ("人工处理", "decided by a person"),
        "case_state": ("状态变化", "state changed"),
        "case_claimed": ("认领", "claimed"),
        "case_assigned": ("分配", "assigned"),
        "case_note_added": ("添加备注", "note added"),
        "approval_requested": ("申请第二人复核", "second approval requested"),
        "approval_approved": ("复核批准", "second approval given"),
        "approval_declined": ("复核驳回", "second approval declined"),
        "approval_overtaken": ("复核被截止保护接管", "approval overtaken by the guard"),
        "approval_withdrawn": ("复核撤回", "approval withdrawn"),
        "automatic_decision_overridden": ("人工改判自动决定", "automatic decision overridden"),
        "buyer_contact_revealed": ("查看买家联系方式", "buyer contact revealed"),
        "console_login": ("登录", "signed in"),
        "console_login_failed": ("登录失败", "sign-in failed"),
        "task_opened": ("待办开启", "task opened"),
        "task_closed": ("待办关闭", "task closed"),
    },
    "decision_action": {
        "human": ("转人工", "for a person"),
        "approve_refund": ("同意退款", "approve refund"),
        "approve_return": ("同意退货", "approve return"),
        "confirm_return_and_refund": ("确认收货并退款", "confirm return and refund"),
        "reject": ("拒绝", "reject"),
        "ask_buyer": ("联系买家", "ask the buyer"),
        "ask_buyer_to_modify": ("请买家修改申请", "ask the buyer to change the request"),
        "none": ("无需操作", "nothing to do"),
        "wait": ("等待", "wait"),
    },
    "effect": {
        "agree_refund": ("同意退款", "agree refund"),
        "agree_return": ("同意退货", "agree return"),
        "confirm_return_and_refund": ("确认收货并退款", "confirm return and refund"),
        "refuse_refund": ("拒绝退款", "refuse refund"),
        "message_buyer": ("留言给买家", "message the buyer"),
        "write_order_memo": ("写订单备注", "write the order memo"),
    },
    "chat_role": {
        "buyer": ("买家", "buyer"),
        "seller": ("卖家", "seller"),
        "platform": ("平台客服", "platform staff"),
    },
    "evidence": {
        "photo": ("图片", "photo"),
        "video": ("视频", "video"),
        "chat": ("聊天记录", "chat"),
    },
}


def pick_lang(value: str | None) -> Lang | None:
    return value if value in LANGS else None


def text(lang: Lang, key: str, **values: object) -> str:
    """The message ``key`` in ``lang`` with ``{name}`` fields filled; unknown keys raise."""
    zh, en = MESSAGES[key]
    template = zh if lang == "zh" else en
    return template.format(**values) if values else template


def label(lang: Lang, group: str, value: object) -> str:
    """A readable name for an enum value (a reason, a status...); unknown values as they are."""
    raw = str(getattr(value, "value", value))
    pair = LABELS.get(group, {}).get(raw)
    if pair is None:
        return raw
    return pair[0] if lang == "zh" else pair[1]


def beijing(value: datetime | None, *, seconds: bool = False) -> str:
    if value is None:
        return "-"
    return value.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def span(lang: Lang, seconds: float) -> str:
    """``2小时03分`` / ``2h03m``; under an hour with seconds (the countdown's own format)."""
    total = int(abs(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if lang == "zh":
        if days:
            return f"{days}天{hours}小时"
        return f"{hours}小时{minutes:02d}分" if hours else f"{minutes}分{secs:02d}秒"
    if days:
        return f"{days}d{hours}h"
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def time_left(lang: Lang, seconds: float | None) -> str:
    if seconds is None:
        return text(lang, "no_deadline")
    if seconds < 0:
        return text(lang, "overdue", span=span(lang, seconds))
    return span(lang, seconds)


def yuan(fen: int | None) -> str:
    """``¥1,500.00`` through the one formatting module; ``-`` for none."""
    return "-" if fen is None else formatting.yuan(fen, symbol=True)


WHY_NOT: Mapping[str, tuple[str, str]] = {
    # NotDecidableError / PlatformLimitError codes (connector.review)
    "state_done": ("此单已完成", "the case is done"),
    "state_decided": ("此单已有决定，正在或已经提交平台", "the case is decided and being sent"),
    "state_waiting": ("此单在等待买家或平台", "the case waits for the buyer or the platform"),
    "state_new": ("此单正待策略决定", "the policy has yet to decide the case"),
    "state_left_to_platform": ("此单已交由平台处理", "the case was left to the platform"),
    "in_flight": ("此单有操作正在提交平台，请稍后再看", "a write is in flight; look again soon"),
    "action_not_offered": ("该平台在此状态下不能执行这个操作", "the platform cannot do that now"),
    "reason_length": ("拒绝理由须为 2–200 个字", "a refusal's reason must be 2-200 characters"),
    "tmall_proof": ("天猫拒绝退款须上传凭证图片", "Tmall refusals need a proof image"),
    "message_image": ("淘宝留言给买家须附一张图片", "a Taobao message to the buyer needs an image"),
    "above_refundable": ("退款金额超过可退金额", "the amount is above what is refundable"),
    "approval_pending": ("此单有待复核的审批", "a second approval is pending"),
    "approval_closed": ("该复核申请已关闭（可能已被截止保护接管）",
                        "the approval is closed (perhaps overtaken by the deadline guard)"),
}
"""Why a decision is refused, in the page's language; status_* codes come from LABELS."""


def why_not(lang: Lang, code: str) -> str:
    pair = WHY_NOT.get(code)
    if pair is not None:
        return pair[0] if lang == "zh" else pair[1]
    if code.startswith("status_"):
        status = label(lang, "status", code.removeprefix("status_"))
        return f"平台状态为“{status}”，已不再等待卖家处理" if lang == "zh" else (
            f"the platform status is {status}; it no longer waits for the seller"
        )
    return code


PLATFORM_WORDS: tuple[tuple[str, str, str], ...] = (
    # (a fragment of the platform's or adapter's error, zh, en)
    ("2 to 200 characters", "拒绝理由须为 2–200 个字",
     "the refusal reason must be 2-200 characters"),
    ("proof_image", "天猫拒绝退款须附凭证图片", "Tmall refusals need a proof image"),
    ("requires params.image", "淘宝留言须附图片", "Taobao messages need an image"),
    ("version", "平台上的售后单已变化（版本不一致）", "the case changed on the platform (version)"),
    ("sms-verify-code", "金额较大，平台要求输入卖家手机收到的短信验证码",
     "a large refund: the platform asks for the SMS code sent to the seller's phone"),
    ("refuse-forbidden", "平台不允许拒绝此退款申请", "the platform does not allow a refusal"),
    ("cannot-refuse", "平台不允许拒绝此退款申请", "the platform does not allow a refusal"),
    ("isv.refund-status-error", "售后单状态已变化，平台不接受此操作",
     "the case's status changed; the platform refused"),
)


def platform_words(lang: Lang, error: str | None) -> str:
    """A platform's refusal in the page's language where it is known; else its own words."""
    raw = error or "?"
    for fragment, zh, en in PLATFORM_WORDS:
        if fragment in raw:
            return f"{zh}（{raw}）" if lang == "zh" else f"{en} ({raw})"
    return f"平台返回：{raw}" if lang == "zh" else raw


_ERRORS_ZH: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), zh)
    for pattern, zh in (
        (r"case (\S+) is being worked by (\S+) \(claim until ([^)]+)\)",
         "此单正由 {2} 处理（认领至 {3}）"),
        (r"case (\S+) is claimed by (\S+)", "此单已被 {2} 认领"),
        (r"a person's decision needs a reason", "人工处理须填写理由"),
        (r"evidence image is (\d+) bytes; the platform takes (\d+) max",
         "凭证图片 {1} 字节，平台最多接受 {2} 字节"),
        (r"evidence must be a PNG, JPEG or GIF image", "凭证须为 PNG、JPEG 或 GIF 图片"),
        (r"the second approval must come from another person", "第二人复核须由其他人批准"),
        (r"(\S+) yuan is above your own approval limit \((\S+) yuan\)",
         "¥{1} 超过你本人的审批额度（¥{2}）"),
        (r"a password needs at least (\d+) characters", "密码至少需要 {1} 个字符"),
        (r"account '?([^' ]+)'? already exists", "账号 {1} 已存在"),
        (r"'?([^' ]+)'? is the last enabled admin",
         "{1} 是最后一个启用的管理员，请先添加其他管理员"),
        (r"account name .* must be", "账号名须为 1–64 个字母、数字或 . _ @ -（以字母或数字开头）"),
        (r"role .* is not one of", "角色须为 审核员、运维 或 管理员"),
        (r"no account '?([^' ]+)'?", "没有账号 {1}"),
        (r"the verification code is digits only", "验证码只能是数字"),
        (r"case (\S+) is gone from the store", "此单已不在本地存储中"),
        (r"invalid period|from .* after .*", "统计区间无效"),
    )
)


def error_text(lang: Lang, message: str) -> str:
    """A back-end error in the page's language: Chinese where the message is known, the
    message itself otherwise (it names what is wrong)."""
    if lang != "zh":
        return message
    for pattern, zh in _ERRORS_ZH:
        found = pattern.search(message)
        if found:
            return zh.format("", *found.groups())
    return message
