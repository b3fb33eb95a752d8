# English pages: day month year (an unambiguous order for readers on either side of the
# Atlantic) and the 24-hour clock the wards work by; Django's en formats otherwise.
DATE_FORMAT = "j F Y"
SHORT_DATE_FORMAT = "j M Y"
DATETIME_FORMAT = "j F Y, H:i"
SHORT_DATETIME_FORMAT = "j M Y H:i"
TIME_FORMAT = "H:i"
