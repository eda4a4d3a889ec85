"""Characters for a person's name field: surnames first, then given-name characters.

A name's first character is almost always one of a few hundred surnames, and a
given name often uses characters ordinary text rarely does (䶮, 堃, 喆, 玥...,
many outside GB 2312, which is why the public-security name list and the 2013
通用规范汉字表 added them). The dictionary's corpus frequencies bury those, so a
name field ranks them first among the single characters for what was typed.
"""

from __future__ import annotations

from functools import cache

__all__ = ["NAME_CHARACTERS", "SURNAMES", "to_traditional"]

# The most common surnames in mainland China, most common first (the Ministry of
# Public Security's household-register ranking, the top 120).
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩邓冯曹彭曾肖田董潘袁蔡蒋余"
    "于杜叶程魏苏吕丁任卢姚沈钟姜崔谭陆范汪廖石金韦贾夏付方邹熊白孟秦邱侯江尹薛闫段雷"
    "龙黎史陶贺毛郝顾龚邵万覃武钱戴严欧莫孔向常汤康易乔赖文施洪辛柯庄庞单查解区仇朴盖"
    "乐缪阎祁翟殷"
)
# Characters common in given names; those that write Uyghur and Kazakh names in
# Chinese (阿依古丽, 买买提); then rarer ones kept for names.
NAME_CHARACTERS = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂华玉兰红萍文辉建国梅丹鹏飞斌宇浩凯"
    "俊欣婷雪琳晨悦子涵轩怡梓睿泽诗雨一嘉博思佳颖琪瑶萱彤昊然宸皓晴亮波宁峰"
    "阿依古买提尔克木汗热米哈斯巴图布孜吐尼扎帕亚"
    "䶮堃喆玥婧燚犇淼焱垚昇璟珺彧翀骞翊炜祎旻昱晞瑄珏晗蕤曦芃"
)


@cache
def to_traditional(text: str) -> str:
    """``text`` in Traditional characters (OpenCC ``s2t``), for a zh-Hant keyboard."""
    import opencc

    return str(opencc.OpenCC("s2t").convert(text))
