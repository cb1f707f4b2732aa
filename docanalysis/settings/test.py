"""Test settings: the production settings plus a fast password hasher."""

from docanalysis.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
