# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The provisioning service (seed 003's SmartPhone web service): the links of the activation SMS land here.

    python -m provisioning --dsn sqlite:///var/lib/switchboard/pbx.sqlite --sip-domain pbx.example.com \\
        --proxy sip.example.com:5060 --listen 127.0.0.1:5080

GET /i/{token} records `installed` and redirects to the app for the phone's platform; GET /a/{token} is a
page that consumes nothing; POST /a/{token} activates the account and answers its configuration with a
password made at that moment; GET /dlr carries Kannel's delivery reports; GET /healthz.
"""
