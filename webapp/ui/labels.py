"""The labels of the models' coded values (statuses, categories, event kinds, roles, ...), marked for
the message catalog: models import nothing of ours, so they cannot mark them. Pages translate a label
where they show it (`{{ _(case.status_label) }}`); tests/test_ui_language.py checks this list against
the models, so a label added there and not here fails."""

from __future__ import annotations

from . import N_

LABELS = {
    "CASE_STATUSES": (N_("办理中"), N_("待销号"), N_("已销号")),
    "CATEGORIES": (N_("涉法涉诉"), N_("已开工"), N_("未开工（征收、规划调整等）"), N_("回迁房暂时无法建设，群众要求原地回迁"), N_("主体已建成，配套设施不完善"), N_("资金短缺停工"), N_("已建成未竣工验收"), N_("开发企业不兑现安置协议"), N_("“死结”项目")),
    "LEAD_TYPES": (N_("政府主导"), N_("房地产开发（市场化运作）")),
    "TASK_STATUSES": (N_("待办"), N_("已办"), N_("已撤销")),
    "EVENT_KINDS": (N_("立案"), N_("任务下达"), N_("认领任务"), N_("退回认领"), N_("办结任务"), N_("任务撤销"), N_("转办"), N_("退回"), N_("撤回"), N_("加签"), N_("减签"), N_("抄送"), N_("委派"), N_("委派办毕退回"), N_("收回委派"), N_("时限到期"), N_("上级部门代办"), N_("案件信息变更"), N_("状态变更"), N_("流程运行错误"), N_("改变类别"), N_("流程版本迁移"), N_("留言"), N_("督办升级"), N_("督办已阅"), N_("督办答复"), N_("督办办结"), N_("申请延期"), N_("撤回延期申请"), N_("批准延期"), N_("不批准延期"), N_("延期审批已阅"), N_("设定办理时限")),
    "CHANNELS": (N_("服务调用"), N_("命令行"), N_("网页"), N_("接口"), N_("后台任务")),
    "USER_ROLES": (N_("经办人"), N_("督办人"), N_("审计"), N_("系统管理员")),
    "AGENCY_ROLES": (N_("住建"), N_("财政"), N_("自然资源"), N_("征收"), N_("法院"), N_("税务"), N_("消防"), N_("发改"), N_("街道社区"), N_("开发企业"), N_("安居办"), N_("市县政府")),
    "REGION_LEVELS": (N_("省"), N_("市（州）"), N_("县（市、区）")),
    "ESCALATION_LEVELS": (N_("催办"), N_("督办"), N_("驻点督办"), N_("约谈"), N_("问责")),
    "ESCALATION_OUTCOMES": (N_("待答复"), N_("已答复"), N_("已办结")),
    "ESCALATION_TARGETS": (N_("部门"), N_("包保领导")),
    "EXTENSION_STATUSES": (N_("待审批"), N_("已批准"), N_("未批准"), N_("已撤回")),
    "NOTIFICATION_KINDS": (N_("新任务"), N_("即将到期"), N_("已逾期"), N_("督办"), N_("已阅回执"), N_("督办答复"), N_("抄送")),
    "DELIVERY_CHANNELS": (N_("电子邮件"), N_("Webhook")),
    "DELIVERY_STATUSES": (N_("待发送"), N_("已发送"), N_("发送失败")),
    "CALENDAR_DAY_KINDS": (N_("放假"), N_("调休上班")),
    "CALENDAR_SOURCES": (N_("日历库"), N_("管理员录入")),
    "ACCESS_KINDS": (N_("登录"), N_("登录失败"), N_("账户锁定"), N_("退出登录"), N_("创建接口令牌"), N_("吊销接口令牌"), N_("新建用户"), N_("修改用户"), N_("停用用户"), N_("重置密码"), N_("新建部门"), N_("修改部门"), N_("部署流程版本"), N_("录入节假日安排"), N_("设置委托"), N_("取消委托")),
}
