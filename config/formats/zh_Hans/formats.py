# Django's zh_Hans formats, except the short forms: the hospital's lists and printed sheets
# write dates as 2024-05-01 (what HIS and the insurance office's exports use).
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
