"""What each declared device should hold (fleet/desired.py): lines from bindings, hot-desking, and the bindings
that cannot become a line, each a problem of its device alone, located and named (never with a password)."""

from conftest import write_state
from ansible_collections.switchboard.pbx.plugins.module_utils.declared import load as load_declared
from ansible_collections.switchboard.pbx.plugins.module_utils.fleet.desired import wishes
from ansible_collections.switchboard.pbx.plugins.module_utils.fleet.driver import DesiredLine

VAULTED = "!vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6162636465\n"


def declared(tmp_path, accounts, devices):
    state = ("groups:\n  - name: desks\nprovisioning_profiles:\n  - name: mobile\naccounts:\n%s\ndevices:\n%s\n"
             % (accounts, devices))
    write_state(tmp_path / "state", {"s.yml": state})
    return load_declared(str(tmp_path / "state"))[0]


def device(name, *extensions, port=None):
    channels = "".join("\n      - index: %d\n        extension: %s" % (i, e) if e else "\n      - index: %d" % i
                       for i, e in enumerate(extensions, 1))
    return "  - name: %s\n    ip: 10.0.0.%d\n    platform: linux_baresip\n%s    channels:%s" % (
        name, len(name), "    port: %d\n" % port if port else "", channels)


def test_bound_channels_become_lines_with_the_pbx_username_and_hotdesking_follows(tmp_path):
    state = declared(tmp_path,
                     "  - {number: '101', group: desks, password: From-State-101}\n"
                     "  - {number: '102', group: desks}",
                     "\n".join([device("desk-a", "'101'", None, "'102'", port=2222), device("desk-bb", None)]))
    found = wishes(state, {"101": "9101", "102": "9102"}, {"102": "From-Vault-102"}, "pbx.example", "10.0.0.1:5060")

    assert [(w.name, w.address, w.hotdesking, w.problems) for w in found] == [
        ("desk-a", "10.0.0.6:2222", False, ()), ("desk-bb", "10.0.0.7:22", True, ())]
    assert found[0].lines == (DesiredLine(1, "9101", "pbx.example", "10.0.0.1:5060", "From-State-101"),
                              DesiredLine(3, "9102", "pbx.example", "10.0.0.1:5060", "From-Vault-102"))
    assert found[1].lines == ()


def test_bindings_that_cannot_become_a_line_are_problems_of_their_device(tmp_path):
    state = declared(tmp_path,
                     "  - {number: '201', group: desks}\n"
                     "  - {number: '202', group: desks}\n"
                     "  - number: '203'\n    group: desks\n    password: " + VAULTED.replace("\n", "\n    ") + "\n"
                     "  - {number: '+393471234567', group: desks, type: pgsm, activation: wizard, provisioning_profile: mobile}",
                     "\n".join([device("desk-a", "'201'", "'202'"), device("desk-b", "'203'", "'+393471234567'")]))
    usernames = {"201": "9201", "203": "9203", "+393471234567": "5550001"}
    found = {w.name: w for w in wishes(state, usernames, {}, "pbx.example", "10.0.0.1")}

    assert [str(p) for p in found["desk-a"].problems] == [
        "s.yml: devices[0].channels[0].extension: desk-a: extension 201 has no password (inline !vault, the secrets "
        "file, or plain text) (rule: a device line needs the password)",
        "s.yml: devices[0].channels[1].extension: desk-a: extension 202 is not on the PBX yet (apply the platform "
        "first) (rule: a device line needs the account on the PBX)"]
    assert [str(p) for p in found["desk-b"].problems] == [
        "s.yml: devices[1].channels[0].extension: desk-b: extension 203 has a !vault password that no vault secret "
        "could decrypt (rule: a device line needs the password)",
        "s.yml: devices[1].channels[1].extension: desk-b: extension +393471234567 is a wizard account: its password "
        "is chosen by the system and never known, so it cannot be provisioned onto a desk phone "
        "(rule: only plain accounts go onto devices)"]
    assert found["desk-a"].lines == () and found["desk-b"].lines == ()
