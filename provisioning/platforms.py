# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which phone opened the installation link, from its User-Agent: ios, android or other."""

from __future__ import annotations

IOS_MARKERS = ("iphone", "ipad", "ipod")
PLATFORMS = ("ios", "android", "other")


def platform_of(user_agent):
    text = (user_agent or "").lower()
    if any(marker in text for marker in IOS_MARKERS):
        return "ios"
    if "android" in text:
        return "android"
    return "other"
