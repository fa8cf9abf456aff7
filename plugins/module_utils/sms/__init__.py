# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""SMS gateways behind one small interface (gateway.py), chosen by `switchboard_sms_gateway` (config.py):

    with open_gateway("kannel://switchboard@127.0.0.1:13013?smsc=FAKE", password=..., rate=10) as gateway:
        outcome = gateway.send(Message(id="sms-42", to="+391234567890", stage="installation", text="..."))
        outcome.status   # accepted | failed | retry_later | unknown

`file` (file.py) writes one JSON file per message; `kannel` (kannel.py) calls Kannel's HTTP sendsms;
dlr.py maps Kannel's delivery reports back to our message ids.
"""
