"""The top floor: the site put together (``urls.py``, every app's URLs in one tree).

It imports every app and nothing imports it (Django finds it by ``ROOT_URLCONF``): the
composition root sits above the apps it composes, so no arrow of the house runs upward.
"""
